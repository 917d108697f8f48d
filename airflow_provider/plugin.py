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
    """`PythonScriptStep` → `PythonScriptStepOperator`; the compute target picks pool and queue."""
    if step.kind != "python_script":
        return None
    from .operators import PythonScriptStepOperator

    return PythonScriptStepOperator(task_id=step.task_id, step=dataclasses.asdict(step), pipeline=pipeline,
                                    dag=dag, **compute_placement(pipeline, step.compute_target))


def compute_placement(pipeline: dict[str, Any], compute_target: str | None) -> dict[str, Any]:
    """Airflow `pool`/`queue` of a compute target, from `compute_targets` in the workspace config."""
    targets = (pipeline["workspace"].get("extra") or {}).get("compute_targets") or {}
    target = targets.get(compute_target or "", {})
    return {key: target[key] for key in ("pool", "queue") if target.get(key)}


@hookimpl
def aml_storage_credentials(workspace: Any, connection_id: str) -> dict[str, Any] | None:
    """An Airflow connection (type `aws`) as boto3 credentials; None when Airflow does not know it."""
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None
    try:
        conn = BaseHook.get_connection(connection_id)
    except AirflowNotFoundException:
        return None
    extra = conn.extra_dejson
    found = {"aws_access_key_id": conn.login or extra.get("aws_access_key_id"),
             "aws_secret_access_key": conn.password or extra.get("aws_secret_access_key"),
             "aws_session_token": extra.get("aws_session_token"),
             "region_name": extra.get("region_name"), "endpoint_url": extra.get("endpoint_url")}
    return {k: v for k, v in found.items() if v}


@hookimpl(trylast=True)
def aml_submit_pipeline(workspace: Any, pipeline: Any, submission: Any) -> Any:
    """Run the pipeline now through Airflow's `dag.test()` on the embedded metadata DB."""
    from .embedded import run_embedded

    return run_embedded(pipeline, submission)
