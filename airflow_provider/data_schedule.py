"""Data-change schedules: run a published pipeline once per change under a datastore path.

A schedule with `datastore=` gets two DAGs: a watcher (`<dag id>_watch`, every
`polling_interval` minutes) whose one task compares the content digest of the watched path with
the last one it saw (an Airflow Variable; the digest at `Schedule.create` is the baseline) and,
only on a change, succeeds and so emits an event on the schedule's asset; and the pipeline DAG,
scheduled on that asset. No change, no event, no pipeline run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

WATCH_TASK_ID = "aml_datastore_watch"


def datastore_asset(schedule: dict[str, Any]) -> Asset:
    return Asset(name=f"aml_bridge_schedule_{schedule['id']}",
                 uri=f"aml-bridge://{schedule['datastore']}/{schedule['path_on_datastore'] or ''}".rstrip("/"))


def watcher_dag(schedule: dict[str, Any]) -> DAG:
    with DAG(f"{schedule['dag_id']}_watch", schedule=dt.timedelta(minutes=schedule["polling_interval"]),
             start_date=dt.datetime.fromisoformat(schedule["created"]), catchup=False, max_active_runs=1,
             is_paused_upon_creation=schedule["status"] != "Active", tags=["aml-bridge", "schedule"],
             description=f"Watches {schedule['datastore']}:{schedule['path_on_datastore']} for schedule "
                         f"{schedule['name']}") as dag:
        DatastoreChangeOperator(task_id=WATCH_TASK_ID, schedule=schedule, outlets=[datastore_asset(schedule)])
    return dag


def content_digest(workspace: dict[str, Any], datastore: str, path: str) -> str:
    """Digest of every file under `path` on the datastore (names and contents)."""
    from aml_bridge import Datastore, Workspace
    from aml_bridge.settings import WorkspaceConfig

    ws = Workspace(config=WorkspaceConfig(**workspace))
    return Datastore(ws, datastore).backend.content_id(path)


def state_key(schedule: dict[str, Any]) -> str:
    return f"aml_bridge.schedule.{schedule['id']}.digest"


class DatastoreChangeOperator(BaseOperator):
    """Succeeds (emitting its asset event) only when the watched content changed since the last check."""

    def __init__(self, *, schedule: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedule = schedule

    def execute(self, context: Any) -> dict[str, str]:
        from airflow.sdk import Variable

        schedule = self.schedule
        digest = content_digest(schedule["workspace"], schedule["datastore"], schedule["path_on_datastore"])
        previous = Variable.get(state_key(schedule), default=schedule["baseline_digest"])
        if digest == previous:
            raise AirflowSkipException(f"no change under {schedule['datastore']}:{schedule['path_on_datastore']}")
        Variable.set(state_key(schedule), digest)
        print(f"Change under {schedule['datastore']}:{schedule['path_on_datastore']}: {previous} -> {digest}",
              flush=True)
        return {"digest": digest}


__all__ = ["DatastoreChangeOperator", "content_digest", "datastore_asset", "watcher_dag"]
