"""`pipeline_dag`: materialise an aml-bridge pipeline plan as an Airflow DAG.

Phase one (the plan) is pure data from `aml_bridge.pipeline`; this is phase two: a root task,
one task per step through the `aml_step_to_task` hook, a final task, and the plan's edges.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from airflow.sdk import DAG, Param

from aml_bridge.pipeline.plan import PipelinePlan
from aml_bridge.plugins import get_plugin_manager

from .operators import (
    END_TASK_ID,
    START_TASK_ID,
    PipelineEndOperator,
    PipelineStartOperator,
    pipeline_settings,
)

_PARAM_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}


def pipeline_dag(pipeline: Any, dag_id: str, experiment_name: str | None = None,
                 continue_on_step_failure: bool = False, regenerate_outputs: bool = False,
                 run_tags: dict[str, str] | None = None, **dag_kwargs: Any) -> DAG:
    """Build the DAG of `pipeline`. Pipeline parameters become DAG params (trigger with others).

    `experiment_name` defaults to the DAG id; `run_tags` tag every pipeline run (what Azure's
    `submit(tags=...)` did); `dag_kwargs` go to `DAG` (schedule, tags, ...).
    A bad definition fails here, at DAG build, naming the step and the field.
    """
    plan = pipeline.plan(reserved_task_ids=(START_TASK_ID, END_TASK_ID))
    settings = pipeline_settings(pipeline.workspace, plan, experiment_name or _experiment(dag_id),
                                 continue_on_step_failure, regenerate_outputs, run_tags)
    return plan_dag(plan, settings, dag_id, **dag_kwargs)


def plan_dag(plan: PipelinePlan, settings: dict[str, Any], dag_id: str, **dag_kwargs: Any) -> DAG:
    """The materialiser: root task, one task per step (`aml_step_to_task`), final task, edges."""
    dag_kwargs.setdefault("schedule", None)
    dag_kwargs.setdefault("catchup", False)
    dag_kwargs.setdefault("description", plan.description)
    params = {name: _param(value, plan.parameter_kinds.get(name, "")) for name, value in plan.parameters.items()}
    with DAG(dag_id, params=params, **dag_kwargs) as dag:
        start = PipelineStartOperator(task_id=START_TASK_ID, pipeline=settings)
        tasks = {step.task_id: _step_task(step, dag, settings) for step in plan.steps}
        end = PipelineEndOperator(task_id=END_TASK_ID, pipeline=settings, step_task_ids=list(tasks))
        for step in plan.steps:
            for parent in step.upstream or [START_TASK_ID]:
                (tasks.get(parent) or start) >> tasks[step.task_id]
        list(tasks.values()) >> end
        start >> end
    return dag


def write_plan_file(path: str, plan: PipelinePlan, settings: dict[str, Any], dag_id: str) -> None:
    """Save what `plan_dag` needs as JSON, so a generated DAG file can rebuild the DAG anywhere."""
    with open(path, "w") as fh:
        json.dump({"dag_id": dag_id, "plan": plan.to_dict(), "settings": settings}, fh, indent=1, sort_keys=True)


def dag_from_plan_file(path: str, **dag_kwargs: Any) -> DAG:
    """The DAG a plan file describes (used by generated DAG files)."""
    with open(path) as fh:
        saved = json.load(fh)
    return plan_dag(PipelinePlan.from_dict(saved["plan"]), saved["settings"], saved["dag_id"], **dag_kwargs)


def _step_task(step: Any, dag: DAG, settings: dict[str, Any]) -> Any:
    task = get_plugin_manager().hook.aml_step_to_task(step=step, dag=dag, pipeline=settings)
    if task is None:
        raise ValueError(f"Step [{step.name}] has kind {step.kind!r}, which no installed plugin turns into an "
                         "Airflow task (aml_step_to_task hook)")
    return task


def _param(value: Any, kind: str) -> Param:
    """A DAG param: plain values typed as JSON schema says; data-valued ones stay objects."""
    if kind in _PARAM_TYPES:
        return Param(value, type=_PARAM_TYPES[kind])
    return Param(value)


def _experiment(dag_id: str) -> str:
    return re.sub(r"[^\w\-]", "_", dag_id)[:255]


def pipeline_dag_from_file(path: str, dag_id: str | None = None, **kwargs: Any) -> DAG:
    """Build the DAG of the pipeline an unchanged Azure ML definition script creates.

    The script runs with the `azureml` compatibility package importable and with submission
    captured: `experiment.submit(pipeline)` hands the pipeline here instead of running it.
    """
    from aml_bridge.pipeline.loader import load_pipeline

    loaded = load_pipeline(path)
    name = dag_id or re.sub(r"[^\w.\-]", "_", os.path.splitext(os.path.basename(path))[0])
    options = {**loaded.options, "run_tags": loaded.tags, **kwargs}
    return pipeline_dag(loaded.pipeline, name, **options)


__all__ = ["dag_from_plan_file", "pipeline_dag", "pipeline_dag_from_file", "plan_dag", "write_plan_file"]
