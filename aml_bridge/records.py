"""Plain data passed across the hooks: what a backend stores and returns.

Backends see only these records and primitive values, never `Run` objects, so a backend
can be written without knowing the Azure-shaped API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Metric kinds. A scalar is one value of `log`/`log_list`; a row is one dict of
# `log_row`/`log_table`; an artifact is the aml:// URI of an image or JSON metric.
SCALAR = "scalar"
ROW = "row"
ARTIFACT = "artifact"

# Tags the core keeps for itself; hidden from `get_tags()`.
SYSTEM_TAG_PREFIXES = ("aml_bridge.", "mlflow.")
TAG_STATUS = "aml_bridge.status"
TAG_AML_ID = "aml_bridge.run_id"
TAG_NAME = "aml_bridge.name"
TAG_TYPE = "aml_bridge.type"
TAG_TARGET = "aml_bridge.target"
TAG_ERROR = "aml_bridge.error"
TAG_PARENT = "mlflow.parentRunId"
TAG_DISPLAY_NAME = "mlflow.runName"

# Where the core keeps its own artifacts; hidden from `get_file_names()`.
SYSTEM_ARTIFACT_PREFIX = ".aml_bridge/"
METRICS_JOURNAL_PREFIX = ".aml_bridge/metrics/"


class Metric(NamedTuple):
    """One logged value, typed exactly as the caller gave it."""

    name: str
    value: Any
    step: int | None
    time: float
    kind: str = SCALAR


@dataclass
class RunRecord:
    """What a backend knows about one run. `status` is an Azure status string."""

    run_id: str
    experiment_name: str
    experiment_id: str = ""
    status: str = "NotStarted"
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    start_time: float | None = None
    end_time: float | None = None
    artifact_uri: str = ""

    @property
    def parent_run_id(self) -> str | None:
        return self.tags.get(TAG_PARENT) or None

    def user_tags(self) -> dict[str, str]:
        return {k: v for k, v in self.tags.items() if not k.startswith(SYSTEM_TAG_PREFIXES)}


@dataclass
class ModelRecord:
    """One registered model version."""

    name: str
    version: int
    run_id: str | None = None
    source: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    created_time: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


__all__ = [
    "ARTIFACT", "METRICS_JOURNAL_PREFIX", "Metric", "ModelRecord", "ROW", "RunRecord", "SCALAR",
    "SYSTEM_ARTIFACT_PREFIX", "SYSTEM_TAG_PREFIXES", "TAG_AML_ID", "TAG_DISPLAY_NAME", "TAG_ERROR",
    "TAG_NAME", "TAG_PARENT", "TAG_STATUS", "TAG_TARGET", "TAG_TYPE",
]
