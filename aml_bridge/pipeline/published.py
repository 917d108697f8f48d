"""`PublishedPipeline` and `PipelineEndpoint`: a pipeline kept registered and runnable by id or name.

A published pipeline is a record (name, version, parameters, the definition file that rebuilds
it) plus a DAG the service keeps serving; runs start from Azure's REST body, so
`PublishedPipeline.submit`, `Experiment.submit(published)` and an HTTP POST to `.endpoint` take
the same path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ..errors import UserErrorException
from . import publishing as svc


def publish_pipeline(pipeline: Any, name: str | None, description: str | None, version: str | None,
                     continue_on_step_failure: bool | None, definition: str | None = None) -> PublishedPipeline:
    """`Pipeline.publish`: register the record and the DAG that rebuilds the pipeline at parse time."""
    definition = definition or getattr(pipeline, "_definition_file", None)
    if not definition:
        raise UserErrorException("Pipeline.publish needs the pipeline to be built by a definition file (.py) that "
                                 "Airflow can run again at parse time; this one was built interactively. Save the "
                                 "definition to a file and run `aml-bridge pipeline publish FILE --name NAME`.")
    plan = pipeline.plan()
    record_id = str(uuid.uuid4())
    name = name or "pipeline"
    record = {"id": record_id, "name": name, "description": description or pipeline.description,
              "version": version, "continue_on_step_failure": continue_on_step_failure,
              "definition": definition, "parameters": plan.parameters, "status": svc.ACTIVE,
              "dag_id": svc.dag_id_for("aml_published", name, record_id), "total_run_steps": len(plan.steps),
              "created": _now()}
    svc.service(pipeline.workspace).publish(pipeline, record)
    return PublishedPipeline(pipeline.workspace, record)


class PublishedPipeline(svc.RecordEntity):
    """Azure's PublishedPipeline: `submit`, `endpoint`, `disable`/`enable` (the DAG is paused)."""

    version = property(lambda self: self._record.get("version"))
    total_run_steps = property(lambda self: self._record.get("total_run_steps"))
    continue_on_step_failure = property(lambda self: self._record.get("continue_on_step_failure"))
    dag_id = property(lambda self: self._record["dag_id"])

    @property
    def endpoint(self) -> str:
        return svc.service(self._workspace).endpoint_url("pipelines", self.id)

    @staticmethod
    def get(workspace: Any, id: str, _workflow_provider: Any = None, _service_endpoint: Any = None) -> PublishedPipeline:
        return PublishedPipeline(workspace, svc.find(workspace, "pipelines", id, "PublishedPipeline"))

    @staticmethod
    def list(workspace: Any, active_only: bool = True, _service_endpoint: Any = None) -> list[PublishedPipeline]:
        records = svc.service(workspace).records("pipelines")
        return [PublishedPipeline(workspace, r) for r in records if not active_only or r["status"] == svc.ACTIVE]

    def submit(self, workspace: Any, experiment_name: str, pipeline_parameters: dict[str, Any] | None = None,
               _workflow_provider: Any = None, _service_endpoint: Any = None, parent_run_id: str | None = None,
               continue_on_step_failure: bool | None = None, tags: dict[str, Any] | None = None) -> Any:
        """Start a run; unknown parameter names and a disabled pipeline raise before anything starts."""
        record = svc.find(workspace, "pipelines", self.id, "PublishedPipeline")
        return svc.service(workspace).submit(record, submit_body(record, experiment_name, pipeline_parameters,
                                                                 tags, continue_on_step_failure))

    def _aml_submit(self, experiment: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """`Experiment(ws, name).submit(published_pipeline, tags=..., pipeline_parameters=...)`."""
        return self.submit(experiment.workspace, experiment.name, kwargs.get("pipeline_parameters"),
                           continue_on_step_failure=kwargs.get("continue_on_step_failure"), tags=tags)

    def disable(self) -> None:
        self._set_status(svc.DISABLED)

    def enable(self) -> None:
        self._set_status(svc.ACTIVE)

    def _set_status(self, status: str) -> None:
        service = svc.service(self._workspace)
        record = {**svc.find(self._workspace, "pipelines", self.id, "PublishedPipeline"), "status": status}
        service.save("pipelines", record)
        service.set_paused(record["dag_id"], status == svc.DISABLED)
        self._record = record

    def __repr__(self) -> str:
        return f"PublishedPipeline(Name: {self.name},\nId: {self.id},\nStatus: {self.status},\nEndpoint: {self.endpoint})"


def submit_body(record: dict[str, Any], experiment_name: str, parameters: dict[str, Any] | None,
                tags: dict[str, Any] | None = None, continue_on_step_failure: bool | None = None) -> dict[str, Any]:
    """Azure's REST body for a run of `record`, checked the way the service checks it."""
    check_submittable(record, experiment_name, parameters)
    body: dict[str, Any] = {"ExperimentName": experiment_name, "ParameterAssignments": dict(parameters or {})}
    if tags:
        body["Tags"] = {str(k): str(v) for k, v in tags.items()}
    if continue_on_step_failure is not None:
        body["ContinueOnStepFailure"] = bool(continue_on_step_failure)
    return body


def check_submittable(record: dict[str, Any], experiment_name: Any, parameters: Any) -> None:
    """Raise UserErrorException naming the field: experiment name, parameter names, pipeline status."""
    from ..experiment import Experiment

    if record["status"] != svc.ACTIVE:
        raise UserErrorException(f"Published pipeline {record['name']} ({record['id']}) is disabled; "
                                 "enable() it before submitting")
    if not isinstance(experiment_name, str):
        raise UserErrorException("ExperimentName is required and must be a string")
    Experiment(None, experiment_name)  # type: ignore[arg-type]  # validates the name
    if parameters is not None and not isinstance(parameters, dict):
        raise UserErrorException("ParameterAssignments must be an object of parameter names to values")
    svc.check_parameters(record, parameters)


class PipelineEndpoint(svc.RecordEntity):
    """Azure's PipelineEndpoint: a name with numbered versions of published pipelines and a default."""

    default_version = property(lambda self: self._record["default_version"])

    @property
    def endpoint(self) -> str:
        return svc.service(self._workspace).endpoint_url("endpoints", self.id)

    url = endpoint

    @staticmethod
    def publish(workspace: Any, name: str, description: str, pipeline: Any,
                _workflow_provider: Any = None, _service_endpoint: Any = None) -> PipelineEndpoint:
        if any(r["name"] == name for r in svc.service(workspace).records("endpoints")):
            raise UserErrorException(f"PipelineEndpoint with name {name} already exists")
        published = _as_published(pipeline, name)
        record = {"id": str(uuid.uuid4()), "name": name, "description": description, "status": svc.ACTIVE,
                  "default_version": "0", "versions": [{"version": "0", "pipeline_id": published.id}],
                  "created": _now()}
        svc.service(workspace).save("endpoints", record)
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def get(workspace: Any, id: str | None = None, name: str | None = None,
            _workflow_provider: Any = None, _service_endpoint: Any = None) -> PipelineEndpoint:
        if (id is None) == (name is None):
            raise UserErrorException("PipelineEndpoint.get needs exactly one of id or name")
        for record in svc.service(workspace).records("endpoints"):
            if record["id"] == id or record["name"] == name:
                return PipelineEndpoint(workspace, record)
        raise UserErrorException(f"PipelineEndpoint with {'id' if id else 'name'} {id or name} was not found")

    @staticmethod
    def list(workspace: Any, active_only: bool = True, _workflow_provider: Any = None,
             _service_endpoint: Any = None) -> list[PipelineEndpoint]:
        records = svc.service(workspace).records("endpoints")
        return [PipelineEndpoint(workspace, r) for r in records if not active_only or r["status"] == svc.ACTIVE]

    def list_versions(self) -> list[dict[str, str]]:
        return [dict(v) for v in self._record["versions"]]

    def get_pipeline(self, version: str | None = None) -> PublishedPipeline:
        pipeline_id = endpoint_pipeline_id(self._record, version)
        return PublishedPipeline.get(self._workspace, pipeline_id)

    def list_pipelines(self, active_only: bool = True) -> list[PublishedPipeline]:
        found = [PublishedPipeline.get(self._workspace, v["pipeline_id"]) for v in self._record["versions"]]
        return [p for p in found if not active_only or p.status == svc.ACTIVE]

    def add(self, pipeline: Any) -> None:
        """Add a version (the next number); the default stays."""
        published = _as_published(pipeline, self.name)
        versions = [*self._record["versions"], {"version": str(len(self._record["versions"])),
                                                "pipeline_id": published.id}]
        self._save(versions=versions)

    def add_default(self, pipeline: Any) -> None:
        self.add(pipeline)
        self._save(default_version=self._record["versions"][-1]["version"])

    def set_default(self, pipeline: Any) -> None:
        for v in self._record["versions"]:
            if v["pipeline_id"] == pipeline.id:
                self._save(default_version=v["version"])
                return
        self.add_default(pipeline)

    def set_default_version(self, version: str) -> None:
        endpoint_pipeline_id(self._record, str(version))
        self._save(default_version=str(version))

    def submit(self, experiment_name: str, pipeline_parameters: dict[str, Any] | None = None,
               parent_run_id: str | None = None, pipeline_version: str | None = None) -> Any:
        """Run the default version (or `pipeline_version`)."""
        self._check_active()
        published = self.get_pipeline(pipeline_version)
        return published.submit(self._workspace, experiment_name, pipeline_parameters)

    def _aml_submit(self, experiment: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        self._check_active()
        published = self.get_pipeline(kwargs.get("pipeline_version"))
        return published._aml_submit(experiment, tags=tags, **kwargs)

    def disable(self) -> None:
        self._save(status=svc.DISABLED)

    def enable(self) -> None:
        self._save(status=svc.ACTIVE)

    def _check_active(self) -> None:
        check_endpoint_active(self._record)

    def _save(self, **changes: Any) -> None:
        current = PipelineEndpoint.get(self._workspace, id=self.id)._record
        self._record = {**current, **changes}
        svc.service(self._workspace).save("endpoints", self._record)


def check_endpoint_active(record: dict[str, Any]) -> None:
    if record["status"] != svc.ACTIVE:
        raise UserErrorException(f"PipelineEndpoint {record['name']} ({record['id']}) is disabled; enable() it "
                                 "before submitting")


def endpoint_pipeline_id(record: dict[str, Any], version: str | None) -> str:
    """The published pipeline id of `version` (default: the endpoint's default version)."""
    wanted = str(record["default_version"] if version is None else version)
    for v in record["versions"]:
        if v["version"] == wanted:
            return v["pipeline_id"]
    raise UserErrorException(f"PipelineEndpoint {record['name']} has no version {wanted}; versions: "
                             f"{[v['version'] for v in record['versions']]}")


def _as_published(pipeline: Any, name: str) -> PublishedPipeline:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    return pipeline.publish(name=name)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


__all__ = ["PipelineEndpoint", "PublishedPipeline", "check_submittable", "endpoint_pipeline_id", "publish_pipeline",
           "submit_body"]
