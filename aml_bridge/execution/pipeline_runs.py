"""The pipeline run's life: created once per DAG run, gating step starts, closed with its status.

No Airflow import: the operators pass Airflow's identities (dag id, dag run id) and task states
in, so the same functions serve `dag.test()`, the scheduler and plain tests.
"""

from __future__ import annotations

import json
from typing import Any

from ..experiment import Experiment
from ..plugins import hooks
from ..run import Run
from ..run_lookup import rehydrate
from .runs import PIPELINE_RUN_TYPE, PipelineRun

TAG_DAG_RUN = "aml_bridge.dag_run"
TAG_PARAMETERS = "aml_bridge.parameters"
TAG_FAILED_PREFIX = "aml_bridge.failed."


def start_pipeline_run(workspace: Any, experiment_name: str, dag_id: str, dag_run_id: str,
                       parameters: dict[str, Any], tags: dict[str, str] | None = None,
                       description: str | None = None, run_id: str | None = None) -> PipelineRun:
    """Find or create the pipeline run of this DAG run (a retried root task re-attaches).

    `run_id` is the id announced before the run existed (a published pipeline's REST trigger).
    """
    key = f"{dag_id}/{dag_run_id}"
    found = hooks.aml_search_runs(workspace=workspace.config, experiment_name=experiment_name,
                                  parent_run_id=None, tags={TAG_DAG_RUN: key}) or []
    experiment = Experiment(workspace, experiment_name)
    if found:
        return rehydrate(experiment, found[0])  # type: ignore[return-value]
    system = {TAG_DAG_RUN: key, TAG_PARAMETERS: json.dumps(parameters, sort_keys=True, default=str)}
    run = Run._create(experiment, name=dag_id, display_name=dag_id, run_type=PIPELINE_RUN_TYPE, run_id=run_id,
                      tags={**system, **(tags or {})}, target="airflow")
    if description:
        run.description = description
    return run  # type: ignore[return-value]


def blocked_reason(pipeline_run: Run, continue_on_step_failure: bool, failed_tasks: list[str]) -> str | None:
    """Why a step must not start: the pipeline was canceled, or a step failed (Azure's default)."""
    status = pipeline_run.get_status()
    if status in ("Canceled", "CancelRequested"):
        return f"pipeline run {pipeline_run.id} was canceled"
    if not continue_on_step_failure:
        recorded = [k[len(TAG_FAILED_PREFIX):] for k in pipeline_run._refresh().tags if k.startswith(TAG_FAILED_PREFIX)]
        failed = sorted(set(failed_tasks) | set(recorded))
        if failed:
            return f"step(s) {', '.join(failed)} failed and continue_on_step_failure is False"
    return None


def record_step_failure(pipeline_run: Run, task_id: str) -> None:
    """Mark the failure on the pipeline run, so steps starting elsewhere see it at once."""
    pipeline_run._write(tags={TAG_FAILED_PREFIX + task_id: "1"})


def finish_pipeline_run(pipeline_run: Run, failed_tasks: list[str]) -> str:
    """Close the pipeline run: Canceled if it was canceled, Failed if a step failed, else Completed."""
    status = pipeline_run.get_status()
    if status in ("Canceled", "CancelRequested"):
        final, error = "Canceled", None
    elif failed_tasks:
        final = "Failed"
        error = {"error": {"code": "UserError", "message": f"Pipeline steps failed: {', '.join(sorted(failed_tasks))}"}}
    else:
        final, error = "Completed", None
    pipeline_run.flush()
    pipeline_run._set_status(final, error)
    return final


__all__ = ["blocked_reason", "finish_pipeline_run", "record_step_failure", "start_pipeline_run"]
