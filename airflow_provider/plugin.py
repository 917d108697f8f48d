"""aml-bridge hooks the Airflow provider implements (entry point `aml_bridge: airflow`).

Import-light: every process that builds the plugin manager imports this module, so Airflow is
imported only inside the hooks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aml_bridge.hookspecs import hookimpl


@hookimpl
def aml_step_to_task(step: Any, dag: Any, pipeline: dict[str, Any]) -> Any:
    """`PythonScriptStep` → `PythonScriptStepOperator`; parallel steps → prepare >> mapped nodes >> gather.

    The compute target picks pool and queue.
    """
    placement = compute_placement(pipeline, step.compute_target)
    if step.kind == "parallel_run":
        from .parallel_operators import parallel_step_tasks

        return parallel_step_tasks(step, dag, pipeline, placement)
    if step.kind != "python_script":
        return None
    from .operators import PythonScriptStepOperator

    return PythonScriptStepOperator(task_id=step.task_id, step=dataclasses.asdict(step), pipeline=pipeline,
                                    dag=dag, **placement)


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
