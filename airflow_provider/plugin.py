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
KUBERNETES_TYPES = ("kubernetes", "kubernetescompute", "aks")


@hookimpl
def aml_step_to_task(step: Any, dag: Any, pipeline: dict[str, Any]) -> Any:
    """`PythonScriptStep` / `EstimatorStep` → their operators, parallel steps → prepare >> mapped nodes >>
    gather; the compute target picks pool and queue (or a container operator)."""
    if step.kind == "parallel_run":
        from .parallel_operators import parallel_step_tasks

        return parallel_step_tasks(step, dag, pipeline, compute_placement(pipeline, step.compute_target))
    if step.kind not in ("python_script", "estimator"):
        return None
    from .operators import EstimatorStepOperator, PythonScriptStepOperator

    placement = {**compute_placement(pipeline, step.compute_target), **time_limit(step)}
    target = compute_target(pipeline, step.compute_target)
    if container_kind(target):
        from .containers import container_task

        return container_task(step, dag, pipeline, step.compute_target or "", target, **placement)
    operator = EstimatorStepOperator if step.kind == "estimator" else PythonScriptStepOperator
    return operator(task_id=step.task_id, step=dataclasses.asdict(step), pipeline=pipeline, dag=dag, **placement)


def time_limit(step: Any) -> dict[str, Any]:
    """`execution_timeout` for a step whose run configuration sets `max_run_duration_seconds`."""
    timeout = (step.extra.get("job") or {}).get("timeout")
    if not timeout:
        return {}
    from datetime import timedelta

    from aml_bridge.processes import KILL_GRACE_SECONDS

    return {"execution_timeout": timedelta(seconds=timeout + KILL_GRACE_SECONDS + TIMEOUT_ALLOWANCE_SECONDS)}


def container_kind(target: dict[str, Any]) -> str | None:
    """`kubernetes` or `docker` when a compute target runs steps in containers, else None."""
    kind = str(target.get("type", "")).lower()
    return "kubernetes" if kind in KUBERNETES_TYPES else "docker" if kind == "docker" else None


def compute_target(pipeline: dict[str, Any], name: str | None) -> dict[str, Any]:
    """A compute target's settings from `compute_targets` in the workspace config ({} if unlisted)."""
    targets = (pipeline["workspace"].get("extra") or {}).get("compute_targets") or {}
    return dict(targets.get(name or "", {}))


def compute_placement(pipeline: dict[str, Any], name: str | None) -> dict[str, Any]:
    """Airflow `pool`/`queue` of a compute target, from `compute_targets` in the workspace config."""
    target = compute_target(pipeline, name)
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


@hookimpl(trylast=True)
def aml_pipeline_service(workspace: Any) -> Any:
    """Published pipelines, endpoints and schedules as generated DAG files in the DAGs folder."""
    from .pipeline_service import AirflowPipelineService

    return AirflowPipelineService(workspace)
