"""`Schedule`: run a published pipeline on a recurrence or when data under a datastore path changes.

A schedule is a record plus a DAG of its own (the published pipeline's DAG with the schedule's
experiment, parameters and timetable), so several schedules of one pipeline coexist and
`disable()` pauses exactly one of them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ..errors import UserErrorException
from . import publishing as svc
from .recurrence import ScheduleRecurrence


class Schedule(svc.RecordEntity):
    """Azure's Schedule: `create`, `get`, `list`, `disable`, `enable`, `update`."""

    pipeline_id = property(lambda self: self._record["pipeline_id"])
    experiment_name = property(lambda self: self._record["experiment_name"])
    datastore_name = property(lambda self: self._record.get("datastore"))
    path_on_datastore = property(lambda self: self._record.get("path_on_datastore"))
    polling_interval = property(lambda self: self._record.get("polling_interval"))
    data_path_parameter_name = property(lambda self: self._record.get("data_path_parameter_name"))
    pipeline_parameters = property(lambda self: dict(self._record.get("pipeline_parameters") or {}))
    pipeline_endpoint_id = property(lambda self: self._record.get("pipeline_endpoint_id"))
    dag_id = property(lambda self: self._record["dag_id"])

    @property
    def recurrence(self) -> ScheduleRecurrence | None:
        data = self._record.get("recurrence")
        return ScheduleRecurrence.from_dict(data) if data else None

    @staticmethod
    def create(workspace: Any, name: str, pipeline_id: str, experiment_name: str,
               recurrence: ScheduleRecurrence | None = None, description: str | None = None,
               pipeline_parameters: dict[str, Any] | None = None, wait_for_provisioning: bool = False,
               wait_timeout: int = 3600, datastore: Any = None, polling_interval: int = 5,
               data_path_parameter_name: str | None = None, continue_on_step_failure: bool | None = None,
               path_on_datastore: str | None = None, _workflow_provider: Any = None,
               _service_endpoint: Any = None, _pipeline_endpoint_id: str | None = None) -> Schedule:
        """Validate everything first (naming the field), then register the schedule's DAG."""
        pipeline = svc.find(workspace, "pipelines", pipeline_id, "PublishedPipeline")
        record_id = str(uuid.uuid4())
        record = {"id": record_id, "name": name, "description": description, "pipeline_id": pipeline_id,
                  "experiment_name": experiment_name, "status": svc.ACTIVE,
                  "dag_id": svc.dag_id_for("aml_schedule", name, record_id),
                  "created": dt.datetime.now(dt.timezone.utc).isoformat(),
                  "continue_on_step_failure": continue_on_step_failure, "pipeline_endpoint_id": _pipeline_endpoint_id}
        record.update(_trigger_fields(workspace, recurrence, datastore, polling_interval, path_on_datastore,
                                      data_path_parameter_name))
        record["pipeline_parameters"] = _checked_parameters(pipeline, experiment_name, pipeline_parameters)
        schedule = Schedule(workspace, record)
        schedule._write(pipeline)
        return schedule

    @staticmethod
    def create_for_pipeline_endpoint(workspace: Any, name: str, pipeline_endpoint_id: str, experiment_name: str,
                                     recurrence: ScheduleRecurrence | None = None, **kwargs: Any) -> Schedule:
        """A schedule of the endpoint's default version, looked up again whenever the DAG is parsed."""
        from .published import endpoint_pipeline_id

        endpoint = svc.find(workspace, "endpoints", pipeline_endpoint_id, "PipelineEndpoint")
        return Schedule.create(workspace, name, endpoint_pipeline_id(endpoint, None), experiment_name,
                               recurrence=recurrence, _pipeline_endpoint_id=pipeline_endpoint_id, **kwargs)

    @staticmethod
    def get(workspace: Any, id: str, _workflow_provider: Any = None, _service_endpoint: Any = None) -> Schedule:
        return Schedule(workspace, svc.find(workspace, "schedules", id, "Schedule"))

    @staticmethod
    def list(workspace: Any, active_only: bool = True, pipeline_id: str | None = None,
             pipeline_endpoint_id: str | None = None, _workflow_provider: Any = None,
             _service_endpoint: Any = None) -> list[Schedule]:
        return [Schedule(workspace, r) for r in svc.service(workspace).records("schedules")
                if (not active_only or r["status"] == svc.ACTIVE)
                and (pipeline_id is None or r["pipeline_id"] == pipeline_id)
                and (pipeline_endpoint_id is None or r.get("pipeline_endpoint_id") == pipeline_endpoint_id)]

    @staticmethod
    def get_schedules_for_pipeline_id(workspace: Any, pipeline_id: str, **kwargs: Any) -> list[Schedule]:
        return Schedule.list(workspace, active_only=False, pipeline_id=pipeline_id)

    def get_pipeline_runs(self) -> list[Any]:
        """The pipeline runs this schedule's DAG made, newest first."""
        from ..execution.pipeline_runs import TAG_DAG_RUN
        from ..experiment import Experiment

        prefix = self.dag_id + "/"
        return [run for run in Experiment(self._workspace, self.experiment_name).get_runs()
                if run._record.tags.get(TAG_DAG_RUN, "").startswith(prefix)]

    def get_last_pipeline_run(self) -> Any:
        runs = self.get_pipeline_runs()
        return runs[0] if runs else None

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self.update(status=svc.DISABLED)

    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self.update(status=svc.ACTIVE)

    def update(self, name: str | None = None, description: str | None = None,
               recurrence: ScheduleRecurrence | None = None, pipeline_parameters: dict[str, Any] | None = None,
               status: str | None = None, wait_for_provisioning: bool = False, wait_timeout: int = 3600,
               datastore: Any = None, polling_interval: int | None = None,
               data_path_parameter_name: str | None = None, continue_on_step_failure: bool | None = None,
               path_on_datastore: str | None = None) -> None:
        """Change the given fields; the schedule's DAG is rewritten (the scheduler picks it up)."""
        current = svc.find(self._workspace, "schedules", self.id, "Schedule")
        pipeline = svc.find(self._workspace, "pipelines", current["pipeline_id"], "PublishedPipeline")
        record = dict(current)
        if status is not None:
            if status not in (svc.ACTIVE, svc.DISABLED):
                raise UserErrorException(f"Schedule status must be {svc.ACTIVE} or {svc.DISABLED}; got {status!r}")
            record["status"] = status
        record.update({k: v for k, v in {"name": name, "description": description,
                                         "continue_on_step_failure": continue_on_step_failure}.items()
                       if v is not None})
        if recurrence is not None or datastore is not None:
            record.update(_trigger_fields(self._workspace, recurrence, datastore,
                                          polling_interval or current["polling_interval"] or 5,
                                          path_on_datastore, data_path_parameter_name))
        if pipeline_parameters is not None:
            record["pipeline_parameters"] = _checked_parameters(pipeline, record["experiment_name"],
                                                                pipeline_parameters)
        self._record = record
        self._write(pipeline)

    def _write(self, pipeline: dict[str, Any]) -> None:
        service = svc.service(self._workspace)
        service.save("schedules", self._record)
        service.write_schedule(self._record, pipeline)

    def __repr__(self) -> str:
        return f"Schedule(Name: {self.name},\nId: {self.id},\nStatus: {self.status},\nPipeline Id: {self.pipeline_id})"


def _trigger_fields(workspace: Any, recurrence: ScheduleRecurrence | None, datastore: Any, polling_interval: int,
                    path_on_datastore: str | None, data_path_parameter_name: str | None) -> dict[str, Any]:
    """Exactly one trigger: a recurrence, or a datastore to watch (Azure's rule)."""
    if (recurrence is None) == (datastore is None):
        raise UserErrorException("Schedule needs exactly one of recurrence or datastore")
    if recurrence is not None:
        if not isinstance(recurrence, ScheduleRecurrence):
            raise UserErrorException(f"Schedule recurrence must be a ScheduleRecurrence; got {type(recurrence).__name__}")
        recurrence.validate()
        return {"recurrence": recurrence.to_dict(), "datastore": None, "path_on_datastore": None,
                "polling_interval": None, "data_path_parameter_name": None}
    if not isinstance(polling_interval, int) or isinstance(polling_interval, bool) or polling_interval < 1:
        raise UserErrorException(f"Schedule polling_interval must be a whole number of minutes >= 1; "
                                 f"got {polling_interval!r}")
    if data_path_parameter_name is not None:
        raise UserErrorException("Schedule data_path_parameter_name is not supported by aml-bridge: the pipeline "
                                 "runs with its own parameters when the data changes")
    from dataclasses import asdict

    from ..data import Datastore
    from ..data._common import config_of

    name = datastore if isinstance(datastore, str) else getattr(datastore, "name", None)
    if not name:
        raise UserErrorException("Schedule datastore must be a Datastore or a datastore name")
    path = path_on_datastore or ""
    baseline = Datastore(workspace, name).backend.content_id(path)  # what exists now is not a change
    config = asdict(config_of(workspace))  # the watcher task's workspace, without Airflow credentials
    config["extra"] = {k: v for k, v in config["extra"].items() if not k.startswith("airflow_")}
    return {"recurrence": None, "datastore": name, "path_on_datastore": path, "polling_interval": polling_interval,
            "data_path_parameter_name": None, "baseline_digest": baseline, "workspace": config}


def _checked_parameters(pipeline: dict[str, Any], experiment_name: str, values: dict[str, Any] | None) -> dict:
    from .published import check_submittable

    check_submittable({**pipeline, "status": svc.ACTIVE}, experiment_name, values)
    return dict(values or {})


__all__ = ["Schedule"]
