"""What generated DAG files of published pipelines and schedules call at parse time.

    dag = published_dag(__file__, "<published pipeline id>")
    dag = schedule_dag(__file__, "<schedule id>")

The record sits beside the file (`aml_bridge_published/`); the pipeline is rebuilt by running
its definition file with submission captured (`load_pipeline`), as `pipeline_dag_from_file`
does, so parsing costs what the pipeline issue's DAG-parse budget measures.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from aml_bridge.pipeline.publishing import DISABLED
from aml_bridge.pipeline.record_store import STORE_DIR, RecordStore

from .dag_builder import plan_dag
from .operators import END_TASK_ID, START_TASK_ID, pipeline_settings


def published_dag(dag_file: str, pipeline_id: str) -> DAG:
    """The DAG of a published pipeline: manual and REST-triggered runs only; paused while disabled."""
    record = _store(dag_file).get("pipelines", pipeline_id)
    if record is None:
        raise FileNotFoundError(f"published pipeline record {pipeline_id} is missing from {_store(dag_file).folder}")
    return build_dag(record, record["dag_id"], is_paused_upon_creation=record["status"] == DISABLED,
                     tags=["aml-bridge", "published"])


def schedule_dag(dag_file: str, schedule_id: str) -> DAG:
    """The DAG of a schedule: the published pipeline with the schedule's experiment, parameters, timetable."""
    store = _store(dag_file)
    schedule = store.get("schedules", schedule_id)
    pipeline = store.get("pipelines", _scheduled_pipeline_id(store, schedule)) if schedule else None
    if schedule is None or pipeline is None:
        raise FileNotFoundError(f"schedule {schedule_id} or its published pipeline is missing from {store.folder}")
    return build_dag(pipeline, schedule["dag_id"], experiment_name=schedule["experiment_name"],
                     parameters=schedule["pipeline_parameters"],
                     continue_on_step_failure=schedule.get("continue_on_step_failure"),
                     schedule=schedule_timetable(schedule, store.folder),
                     is_paused_upon_creation=schedule["status"] == DISABLED,
                     tags=["aml-bridge", "schedule"])


def schedule_watcher_dag(dag_file: str, schedule_id: str) -> DAG | None:
    """The watcher DAG of a data-change schedule (None for a recurrence schedule)."""
    schedule = _store(dag_file).get("schedules", schedule_id)
    if schedule is None or not schedule.get("datastore"):
        return None
    from .data_schedule import watcher_dag

    return watcher_dag(schedule)


def build_dag(record: dict[str, Any], dag_id: str, experiment_name: str | None = None,
              parameters: dict[str, Any] | None = None, continue_on_step_failure: bool | None = None,
              **dag_kwargs: Any) -> DAG:
    """Rebuild the published pipeline from its definition file and materialise it as `dag_id`."""
    from aml_bridge.pipeline.loader import load_pipeline

    loaded = load_pipeline(record["definition"])
    options = loaded.options
    experiment = (experiment_name or options.get("experiment_name")
                  or re.sub(r"[^\w\-]", "_", record["name"])[:255])
    flag = continue_on_step_failure if continue_on_step_failure is not None else record.get("continue_on_step_failure")
    plan = loaded.pipeline.plan(pipeline_parameters=parameters, reserved_task_ids=(START_TASK_ID, END_TASK_ID))
    settings = pipeline_settings(loaded.pipeline.workspace, plan, experiment, bool(flag), False, loaded.tags)
    settings["published_pipeline_id"] = record["id"]
    dag_kwargs.setdefault("description", record.get("description") or plan.description)
    return plan_dag(plan, settings, dag_id, **dag_kwargs)


def schedule_timetable(schedule: dict[str, Any], folder: Path) -> Any:
    if schedule.get("recurrence"):
        from .timetables import AzureRecurrenceTimetable

        return AzureRecurrenceTimetable(schedule["recurrence"], schedule["created"])
    from .data_schedule import datastore_asset

    return datastore_asset(schedule)


def _scheduled_pipeline_id(store: RecordStore, schedule: dict[str, Any]) -> str:
    """The schedule's pipeline; for an endpoint's schedule, the endpoint's default version now."""
    endpoint = store.get("endpoints", schedule["pipeline_endpoint_id"]) if schedule.get("pipeline_endpoint_id") else None
    if endpoint is None:
        return schedule["pipeline_id"]
    from aml_bridge.pipeline.published import endpoint_pipeline_id

    return endpoint_pipeline_id(endpoint, None)


def _store(dag_file: str) -> RecordStore:
    return RecordStore(Path(dag_file).resolve().parent / STORE_DIR)


__all__ = ["build_dag", "published_dag", "schedule_dag", "schedule_watcher_dag"]
