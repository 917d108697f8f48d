"""Shared MLflow plumbing: cached clients, experiments, record conversion, status and key mapping.

Constructing an `MlflowClient` is slow (FACTS.md), so there is one per tracking URI for the
life of the process. The registry URI is always the tracking URI: a workspace has one store.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from aml_bridge.records import TAG_STATUS, ModelRecord, RunRecord

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

    from aml_bridge.settings import WorkspaceConfig

log = logging.getLogger(__name__)

# MLflow run status -> Azure status, used when a run has no `aml_bridge.status` tag.
MLFLOW_TO_AZURE = {
    "RUNNING": "Running",
    "SCHEDULED": "NotStarted",
    "FINISHED": "Completed",
    "FAILED": "Failed",
    "KILLED": "Canceled",
}
# Azure statuses that end the MLflow run.
AZURE_TERMINAL = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}

MODELS_EXPERIMENT = "aml_bridge_models"
MAX_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 8000
PAGE_SIZE = 5000

_lock = threading.Lock()
_clients: dict[str, MlflowClient] = {}
_experiment_ids: dict[tuple[str, str], str] = {}
_experiment_names: dict[tuple[str, str], str] = {}
_metric_keys: dict[str, str] = {}
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


def client(workspace: WorkspaceConfig) -> MlflowClient:
    """The process-wide client of the workspace's tracking URI."""
    uri = workspace.tracking_uri
    endpoint = workspace.artifact_endpoint()
    if endpoint and not os.environ.get("MLFLOW_S3_ENDPOINT_URL"):
        os.environ["MLFLOW_S3_ENDPOINT_URL"] = endpoint  # MLflow's S3 artifact repository reads it
    found = _clients.get(uri)
    if found is None:
        with _lock:
            found = _clients.get(uri)
            if found is None:
                found = _clients[uri] = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return found


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def error_code(exc: BaseException) -> str:
    """MLflow's error code (`RESOURCE_DOES_NOT_EXIST`, ...) for local and REST stores alike."""
    return str(getattr(exc, "error_code", "") or "")


def is_missing(exc: BaseException) -> bool:
    return error_code(exc) == "RESOURCE_DOES_NOT_EXIST"


# --- experiments -------------------------------------------------------------------------


def artifact_location(workspace: WorkspaceConfig, name: str) -> str | None:
    """Where a new experiment keeps artifacts; None lets an HTTP server choose (it proxies them)."""
    root = workspace.artifact_root
    if not root or is_http(workspace.tracking_uri):
        return None
    if "://" in root or root.startswith("file:"):
        return f"{root.rstrip('/')}/{name}"
    return Path(root).resolve().joinpath(name).as_uri()


def experiment_id(workspace: WorkspaceConfig, name: str, refresh: bool = False) -> str:
    """Id of experiment `name`, created on first use; safe when processes race to create it."""
    key = (workspace.tracking_uri, name)
    if not refresh and key in _experiment_ids:
        return _experiment_ids[key]
    mlflow_client = client(workspace)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is None:
        try:
            found = mlflow_client.create_experiment(name, artifact_location=artifact_location(workspace, name))
        except MlflowException as exc:
            if error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = mlflow_client.get_experiment_by_name(name)
            if experiment is None:
                raise
            found = experiment.experiment_id
    else:
        found = experiment.experiment_id
        if experiment.lifecycle_stage == "deleted":
            # MLflow refuses to create a new experiment under a deleted one's name; reuse it.
            log.warning("Restoring deleted MLflow experiment %s (%s) to log into it", name, found)
            mlflow_client.restore_experiment(found)
    _experiment_ids[key] = found
    _experiment_names[(workspace.tracking_uri, found)] = name
    return found


def experiment_name(workspace: WorkspaceConfig, exp_id: str) -> str:
    key = (workspace.tracking_uri, exp_id)
    if key not in _experiment_names:
        _experiment_names[key] = client(workspace).get_experiment(exp_id).name
    return _experiment_names[key]


def active_experiments(workspace: WorkspaceConfig) -> list[Any]:
    """Every active experiment, all pages."""
    mlflow_client = client(workspace)
    found: list[Any] = []
    token = None
    while True:
        page = mlflow_client.search_experiments(
            view_type=ViewType.ACTIVE_ONLY, max_results=PAGE_SIZE, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


# --- records -----------------------------------------------------------------------------


def _seconds(millis: int | None) -> float | None:
    return None if millis is None else millis / 1000.0


def run_status(tags: dict[str, str], mlflow_status: str) -> str:
    return tags.get(TAG_STATUS) or MLFLOW_TO_AZURE.get(mlflow_status, "NotStarted")


def run_record(workspace: WorkspaceConfig, run: Run) -> RunRecord:
    info = run.info
    tags = dict(run.data.tags)
    return RunRecord(
        run_id=info.run_id,
        experiment_name=experiment_name(workspace, info.experiment_id),
        experiment_id=info.experiment_id,
        status=run_status(tags, info.status),
        tags=tags,
        properties=dict(run.data.params),
        start_time=_seconds(info.start_time),
        end_time=_seconds(info.end_time),
        artifact_uri=info.artifact_uri or "",
    )


def model_record(version: ModelVersion) -> ModelRecord:
    return ModelRecord(
        name=version.name,
        version=int(version.version),
        run_id=version.run_id or None,
        source=version.source or "",
        tags=dict(version.tags or {}),
        description=version.description or None,
        created_time=_seconds(version.creation_timestamp),
        extra={"status": str(version.status or ""), "model_id": getattr(version, "model_id", None)},
    )


# --- keys and filters --------------------------------------------------------------------


def _path_unsafe(key: str) -> bool:
    """MLflow rejects keys that change under path normalisation (`a//b`, `/a`, `..`, ``)."""
    norm = posixpath.normpath(key)
    return norm != key or norm == "." or norm.startswith("..") or norm.startswith("/")


def metric_key(name: str) -> str:
    """The MLflow metric key for an Azure metric name (only MLflow sees it; the journal keeps `name`)."""
    found = _metric_keys.get(name)
    if found is None:
        key = _BAD_KEY_CHARS.sub("_", name)[:MAX_KEY_LENGTH]
        if _path_unsafe(key):
            key = key.replace("/", "_")
        if _path_unsafe(key):
            key = ("_" + key)[:MAX_KEY_LENGTH]
        found = _metric_keys[name] = key
    return found


def quote(value: str) -> str | None:
    """A string literal for an MLflow filter, or None when MLflow's parser cannot express it."""
    if "\\" in value:
        return None
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return None


def tag_clause(key: str, value: str) -> str | None:
    """`tags.`key` = 'value'`, or None (the caller then filters in Python)."""
    literal = quote(value)
    if literal is None or "`" in key:
        return None
    return f"tags.`{key}` = {literal}"


# --- error JSON --------------------------------------------------------------------------


_MARKER = "... [truncated]"


def fit_json(value: Any, limit: int) -> str:
    """JSON of `value` within `limit` characters (MLflow would cut a long tag mid-JSON).

    Strings are capped at one common length, the largest that fits, so a huge stack trace
    and a long message both keep their beginnings.
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    data = json.loads(text)
    low, high, best = 0, _longest(data), None
    while low <= high:
        middle = (low + high) // 2
        candidate = json.dumps(_cap(data, middle), ensure_ascii=False)
        if len(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    if best is not None:
        return best
    # Too many fields even with empty strings: keep code and the start of the message.
    inner = data.get("error") if isinstance(data, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    code = str(inner.get("code", "SystemError"))[:200]
    message = str(inner.get("message", ""))
    size = len(json.dumps({"error": {"code": code, "message": _MARKER}}, ensure_ascii=False))
    return json.dumps({"error": {"code": code, "message": _cap(message, max(0, limit - size))}},
                      ensure_ascii=False)[:limit]


def _longest(node: Any) -> int:
    if isinstance(node, str):
        return len(node)
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return max((_longest(child) for child in children), default=0)


def _cap(node: Any, length: int) -> Any:
    """`node` with every string longer than `length` cut to `length` characters (marker included)."""
    if isinstance(node, str):
        return node if len(node) <= length else node[:max(0, length - len(_MARKER))] + _MARKER
    if isinstance(node, dict):
        return {k: _cap(v, length) for k, v in node.items()}
    if isinstance(node, list):
        return [_cap(v, length) for v in node]
    return node


__all__ = [
    "AZURE_TERMINAL", "MLFLOW_TO_AZURE", "MODELS_EXPERIMENT", "active_experiments", "artifact_location",
    "client", "error_code", "experiment_id", "experiment_name", "fit_json", "is_http", "is_missing", "metric_key",
    "model_record", "quote", "run_record", "run_status", "tag_clause",
]
