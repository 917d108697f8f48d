"""aml-bridge hooks the Airflow provider implements (entry point `aml_bridge: airflow`).

Import-light: every process that builds the plugin manager imports this module, so Airflow is
imported only inside the hooks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aml_bridge.hookspecs import hookimpl

# Airflow's execution timeout backs up the launcher's own limit (which cancels the run gracefully):
# it adds the launcher's kill grace and time for environment builds and uploads.
TIMEOUT_ALLOWANCE_SECONDS = 600


@hookimpl
def aml_step_to_task(step: Any, dag: Any, pipeline: dict[str, Any]) -> Any:
    """`PythonScriptStep` / `EstimatorStep` → their operators; the compute target picks pool and queue."""
    if step.kind not in ("python_script", "estimator"):
        return None
    from .operators import EstimatorStepOperator, PythonScriptStepOperator

    operator = EstimatorStepOperator if step.kind == "estimator" else PythonScriptStepOperator
    return operator(task_id=step.task_id, step=dataclasses.asdict(step), pipeline=pipeline, dag=dag,
                    **compute_placement(pipeline, step.compute_target), **time_limit(step))


def time_limit(step: Any) -> dict[str, Any]:
    """`execution_timeout` for a step whose run configuration sets `max_run_duration_seconds`."""
    from datetime import timedelta

    from aml_bridge.processes import KILL_GRACE_SECONDS

    timeout = (step.extra.get("job") or {}).get("timeout")
    if not timeout:
        return {}
    return {"execution_timeout": timedelta(seconds=timeout + KILL_GRACE_SECONDS + TIMEOUT_ALLOWANCE_SECONDS)}


def compute_placement(pipeline: dict[str, Any], compute_target: str | None) -> dict[str, Any]:
    """Airflow `pool`/`queue` of a compute target, from `compute_targets` in the workspace config."""
    targets = (pipeline["workspace"].get("extra") or {}).get("compute_targets") or {}
    target = targets.get(compute_target or "", {})
    return {key: target[key] for key in ("pool", "queue") if target.get(key)}


@hookimpl(trylast=True)
def aml_submit_pipeline(workspace: Any, pipeline: Any, submission: Any) -> Any:
    """Run the pipeline now through Airflow's `dag.test()` on the embedded metadata DB."""
    from .embedded import run_embedded

    return run_embedded(pipeline, submission)
