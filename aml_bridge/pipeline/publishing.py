"""The seam between Azure's published-pipeline API and whatever keeps and runs published pipelines.

`PublishedPipeline`, `PipelineEndpoint` and `Schedule` are plain records (JSON-able dicts with an
`id`) plus calls on a `PipelineService`, which a plugin provides through `aml_pipeline_service`
(the Airflow provider: records beside generated DAG files, runs through its REST endpoint).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..data._common import config_of
from ..errors import PluginError, UserErrorException

KINDS = ("pipelines", "endpoints", "schedules")
ACTIVE, DISABLED = "Active", "Disabled"


class RecordEntity:
    """An Azure entity the pipeline service stores as a JSON record (published pipeline, endpoint, schedule)."""

    def __init__(self, workspace: Any, record: dict[str, Any]) -> None:
        self._workspace = workspace
        self._record = record

    id = property(lambda self: self._record["id"])
    name = property(lambda self: self._record["name"])
    description = property(lambda self: self._record.get("description"))
    status = property(lambda self: self._record["status"])


class PipelineService(Protocol):
    def publish(self, pipeline: Any, record: dict[str, Any]) -> None:
        """Register `record` (kind pipelines) and the DAG that rebuilds `pipeline` from its definition."""

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every stored record of `kind` (one of KINDS), oldest first."""

    def save(self, kind: str, record: dict[str, Any]) -> None:
        """Store (create or replace) a record."""

    def write_schedule(self, record: dict[str, Any], pipeline: dict[str, Any]) -> None:
        """Register (or rewrite) the DAG(s) that run `pipeline` on the schedule `record`, paused unless Active."""

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG the service generated (nothing to do without a scheduler)."""

    def submit(self, record: dict[str, Any], body: dict[str, Any]) -> Any:
        """Start a run of a published pipeline from Azure's REST body; return its PipelineRun."""

    def endpoint_url(self, kind: str, record_id: str) -> str:
        """The REST URL callers POST Azure's body to."""


def service(workspace: Any) -> PipelineService:
    from ..plugins import get_plugin_manager

    hook = getattr(get_plugin_manager().hook, "aml_pipeline_service", None)
    found = None if hook is None else hook(workspace=config_of(workspace))
    if found is None:
        raise PluginError("No pipeline service is installed: publishing needs a plugin implementing "
                          "aml_pipeline_service(workspace) (the Airflow provider)")
    return found


def find(workspace: Any, kind: str, record_id: str, label: str) -> dict[str, Any]:
    for record in service(workspace).records(kind):
        if record["id"] == record_id:
            return record
    raise UserErrorException(f"{label} with id {record_id} was not found")


def dag_id_for(prefix: str, name: str, record_id: str) -> str:
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)[:80]}_{record_id[:8]}"


def check_parameters(record: dict[str, Any], values: dict[str, Any] | None) -> dict[str, Any]:
    """Azure's submit check: every submitted name must be a parameter of the published pipeline."""
    for name in values or {}:
        if name not in record["parameters"]:
            raise UserErrorException(f"Pipeline parameter with name {name} does not exist in published "
                                     f"pipeline {record['name']} ({record['id']}); its parameters are "
                                     f"{sorted(record['parameters'])}")
    return dict(values or {})


__all__ = ["ACTIVE", "DISABLED", "KINDS", "PipelineService", "check_parameters", "dag_id_for", "find", "service"]
