"""The aml-bridge hooks implemented on MLflow (entry point `aml_bridge: mlflow`).

Import-light on purpose: `import aml_bridge` loads this module through the entry point, and
`import mlflow` costs seconds, so every body imports mlflow (and the helper modules that do)
only when called.
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aml_bridge.hookspecs import hookimpl
from aml_bridge.records import SCALAR, TAG_ERROR, TAG_PARENT, TAG_STATUS, Metric, ModelRecord, RunRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from aml_bridge.settings import WorkspaceConfig

log = logging.getLogger(__name__)

TAG_MODEL_FILE = "aml_bridge.model_file"
TAG_MODEL_DIR = "aml_bridge.model_dir"
MAX_METRICS_PER_BATCH = 1000
MAX_TAGS_PER_BATCH = 100
MAX_MIRROR_INT = 2**53
MAX_STEP = 2**63 - 1

# Per-(run, name) index used as the MLflow step of values logged without one. It lives in this
# process only: two processes logging one name without steps both count from 0 (charts only).
# A run's counters are dropped when it ends.
_sequence: dict[str, dict[str, int]] = {}
_sequence_lock = threading.Lock()


# --- runs ------------------------------------------------------------------------------


@hookimpl
def aml_start_run(
    workspace: WorkspaceConfig,
    experiment_name: str,
    parent_run_id: str | None,
    run_name: str | None,
    tags: dict[str, str],
) -> RunRecord:
    from mlflow.exceptions import MlflowException

    from . import store

    run_tags = {k: str(v) for k, v in tags.items()}
    if parent_run_id:
        run_tags[TAG_PARENT] = parent_run_id
    client = store.client(workspace)
    exp_id = store.experiment_id(workspace, experiment_name)
    try:
        run = client.create_run(exp_id, tags=run_tags, run_name=run_name)
    except MlflowException:
        current = client.get_experiment_by_name(experiment_name)
        if current is not None and current.experiment_id == exp_id and current.lifecycle_stage == "active":
            raise
        # The cached id was stale (experiment deleted or replaced meanwhile): resolve it again.
        exp_id = store.experiment_id(workspace, experiment_name, refresh=True)
        run = client.create_run(exp_id, tags=run_tags, run_name=run_name)
    return store.run_record(workspace, run)


@hookimpl
def aml_read_run(workspace: WorkspaceConfig, run_id: str) -> RunRecord | None:
    from mlflow.exceptions import MlflowException

    from . import store

    try:
        run = store.client(workspace).get_run(run_id)
    except MlflowException as exc:
        if store.error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise
    if run.info.lifecycle_stage == "deleted":
        return None
    return store.run_record(workspace, run)


@hookimpl
def aml_search_runs(
    workspace: WorkspaceConfig,
    experiment_name: str | None,
    parent_run_id: str | None,
    tags: dict[str, str],
) -> list[RunRecord]:
    from mlflow.entities import ViewType

    from . import store

    client = store.client(workspace)
    if experiment_name is None:
        exp_ids = [e.experiment_id for e in store.active_experiments(workspace)]
    else:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None or experiment.lifecycle_stage != "active":
            return []
        exp_ids = [experiment.experiment_id]
    if not exp_ids:
        return []
    wanted = dict(tags)
    if parent_run_id:
        wanted[TAG_PARENT] = parent_run_id
    clauses = [c for c in (store.tag_clause(k, v) for k, v in wanted.items()) if c]
    found: list[RunRecord] = []
    token = None
    while True:
        page = client.search_runs(
            exp_ids, filter_string=" and ".join(clauses), run_view_type=ViewType.ACTIVE_ONLY,
            max_results=store.PAGE_SIZE, order_by=["attributes.start_time DESC"], page_token=token)
        for run in page:
            # Re-checked in Python: values MLflow's filter syntax cannot quote were not pushed down.
            if all(run.data.tags.get(k) == v for k, v in wanted.items()):
                found.append(store.run_record(workspace, run))
        token = page.token
        if not token:
            return found


@hookimpl
def aml_list_experiments(workspace: WorkspaceConfig) -> list[str]:
    from . import store

    return [e.name for e in store.active_experiments(workspace)]


@hookimpl
def aml_log_batch(
    workspace: WorkspaceConfig,
    run_id: str,
    metrics: list[Metric],
    tags: dict[str, str],
    properties: dict[str, str],
) -> None:
    from mlflow.entities import Param, RunTag

    from . import journal, store

    client = store.client(workspace)
    if metrics:
        journal.write_part(client, run_id, metrics)
        _mirror(client, run_id, metrics)
    tag_list = [RunTag(k, str(v)) for k, v in tags.items()]
    for start in range(0, len(tag_list), MAX_TAGS_PER_BATCH):
        client.log_batch(run_id, tags=tag_list[start:start + MAX_TAGS_PER_BATCH])
    params = [Param(k, str(v)) for k, v in properties.items()]
    for start in range(0, len(params), MAX_TAGS_PER_BATCH):
        client.log_batch(run_id, params=params[start:start + MAX_TAGS_PER_BATCH])


def _mirror_value(value: Any) -> float | None:
    """The chart value of a numeric scalar, or None when MLflow cannot hold it exactly enough."""
    if isinstance(value, float):
        return value
    if isinstance(value, int) and -MAX_MIRROR_INT <= value <= MAX_MIRROR_INT:
        return float(value)  # bool included: MLflow refuses bools, charts show 0/1
    return None


def _mirror(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    """Numeric scalars as MLflow metrics for charts; failures are logged, never raised."""
    from mlflow.entities import Metric as MlflowMetric

    from .store import metric_key

    points: list[MlflowMetric] = []
    with _sequence_lock:
        counters = _sequence.setdefault(run_id, {})
        for metric in metrics:
            if metric.kind != SCALAR:
                continue
            value = _mirror_value(metric.value)
            if value is None:
                continue
            index = counters.get(metric.name, 0)
            counters[metric.name] = index + 1
            step = metric.step
            if not isinstance(step, int) or isinstance(step, bool) or not -MAX_STEP <= step <= MAX_STEP:
                step = index
            points.append(MlflowMetric(metric_key(metric.name), value, max(0, int(metric.time * 1000)), step))
    for start in range(0, len(points), MAX_METRICS_PER_BATCH):
        _log_points(client, run_id, points[start:start + MAX_METRICS_PER_BATCH])


def _log_points(client: MlflowClient, run_id: str, points: list[Any]) -> None:
    """Log a chunk; on failure bisect so one bad point cannot drop its neighbours."""
    try:
        client.log_batch(run_id, metrics=points)
    except Exception as exc:
        if len(points) == 1:
            point = points[0]
            log.warning("MLflow refused metric %s=%s (step %s) of run %s: %s",
                        point.key, point.value, point.step, run_id, exc)
            return
        middle = len(points) // 2
        _log_points(client, run_id, points[:middle])
        _log_points(client, run_id, points[middle:])


@hookimpl
def aml_delete_tags(workspace: WorkspaceConfig, run_id: str, keys: list[str]) -> None:
    from mlflow.exceptions import MlflowException

    from . import store

    client = store.client(workspace)
    for key in keys:
        try:
            client.delete_tag(run_id, key)
        except MlflowException as exc:
            if not store.is_missing(exc):
                raise


@hookimpl
def aml_read_metrics(workspace: WorkspaceConfig, run_id: str) -> list[Metric]:
    from . import journal, store

    client = store.client(workspace)
    records = journal.read(client, run_id)
    mirrored = {store.metric_key(m.name) for m in records}
    extra: list[Metric] = []
    for key in client.get_run(run_id).data.metrics:
        if key in mirrored:
            continue
        # Logged with plain mlflow.log_metric (no journal entry): floats, as MLflow holds them.
        history = sorted(client.get_metric_history(run_id, key), key=lambda p: (p.timestamp, p.step))
        extra.extend(Metric(key, float(p.value), p.step, p.timestamp / 1000.0, SCALAR) for p in history)
    if extra:
        records = sorted(records + extra, key=lambda m: m.time)
    return records


@hookimpl
def aml_set_status(
    workspace: WorkspaceConfig, run_id: str, status: str, error: dict[str, Any] | None
) -> None:
    from mlflow.entities import RunTag

    from . import store

    client = store.client(workspace)
    terminal = store.AZURE_TERMINAL.get(status)
    if terminal:
        _materialise_tables(client, run_id)
    tags = [RunTag(TAG_STATUS, status)]
    if error is not None:
        tags.append(RunTag(TAG_ERROR, store.fit_json(error, store.MAX_TAG_VALUE_LENGTH)))
    client.log_batch(run_id, tags=tags)
    if terminal:
        client.set_terminated(run_id, terminal)
        with _sequence_lock:
            _sequence.pop(run_id, None)
    elif status == "Running":
        client.update_run(run_id, status="RUNNING")


def _materialise_tables(client: MlflowClient, run_id: str) -> None:
    """Row metrics as MLflow tables; a failure here must not keep the run from ending."""
    from . import journal, tables

    try:
        rows = journal.read(client, run_id, rows_only=True)
        if rows:
            current = client.get_run(run_id).data.tags.get(tables.LOGGED_ARTIFACTS_TAG)
            tables.write_tables(client, run_id, rows, current)
    except Exception:
        log.warning("Could not write the table artifacts of run %s", run_id, exc_info=True)


# --- artifacts -------------------------------------------------------------------------


@hookimpl
def aml_log_artifact(workspace: WorkspaceConfig, run_id: str, local_path: str, artifact_path: str) -> bool:
    from . import store

    client = store.client(workspace)
    target = artifact_path.strip("/")
    if os.path.isdir(local_path):
        client.log_artifacts(run_id, local_path, target or None)
        return True
    folder, name = posixpath.split(target)
    if not name:
        name = os.path.basename(local_path)
    if os.path.basename(local_path) == name:
        client.log_artifact(run_id, local_path, folder or None)
        return True
    # log_artifact keeps the local basename: stage the file under the target name.
    with tempfile.TemporaryDirectory(prefix="aml-artifact-") as staging:
        staged = os.path.join(staging, name)
        try:
            os.symlink(os.path.abspath(local_path), staged)
        except OSError:
            shutil.copyfile(local_path, staged)
        client.log_artifact(run_id, staged, folder or None)
    return True


@hookimpl
def aml_list_artifacts(workspace: WorkspaceConfig, run_id: str, prefix: str) -> list[str]:
    from . import store

    client = store.client(workspace)
    root = prefix.strip("/")
    found: list[str] = []
    folders = [root or None]
    while folders:
        folder = folders.pop()
        for info in client.list_artifacts(run_id, folder):
            (folders if info.is_dir else found).append(info.path)
    if not found and root:
        # A prefix naming a file lists nothing below it: look for it in its folder.
        parent = posixpath.dirname(root) or None
        if any(i.path == root and not i.is_dir for i in client.list_artifacts(run_id, parent)):
            return [root]
    return sorted(found)


@hookimpl
def aml_download_artifact(workspace: WorkspaceConfig, run_id: str, artifact_path: str, dst_dir: str) -> str:
    from . import store

    os.makedirs(dst_dir, exist_ok=True)
    return store.client(workspace).download_artifacts(run_id, artifact_path.strip("/"), dst_dir)


# --- models ----------------------------------------------------------------------------


@hookimpl
def aml_register_model(
    workspace: WorkspaceConfig,
    name: str,
    run_id: str | None,
    artifact_path: str | None,
    local_path: str | None,
    tags: dict[str, str],
    description: str | None,
) -> ModelRecord:
    from mlflow.exceptions import MlflowException
    from mlflow.utils.uri import append_to_uri_path

    from . import store

    client = store.client(workspace)
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if store.error_code(exc) != "RESOURCE_ALREADY_EXISTS":
            raise
    version_tags = {k: str(v) for k, v in tags.items()}
    if run_id:
        # The underlying URI, resolved with this workspace's client: MLflow's own helpers
        # (RunsArtifactRepository.get_underlying_uri) read the process-global tracking URI.
        run_root = client.get_run(run_id).info.artifact_uri
        source = append_to_uri_path(run_root, artifact_path) if artifact_path else run_root
        version = client.create_model_version(
            name, source, run_id=run_id, tags=version_tags, description=description)
        return store.model_record(version)
    if not local_path:
        raise ValueError("aml_register_model needs run_id or local_path")
    source, model_id, relative = _store_local_model(workspace, client, name, Path(local_path))
    version_tags[TAG_MODEL_FILE if Path(local_path).is_file() else TAG_MODEL_DIR] = relative
    extra: dict[str, Any] = {"model_id": model_id} if store.is_http(workspace.tracking_uri) else {}
    version = client.create_model_version(name, source, tags=version_tags, description=description, **extra)
    return store.model_record(version)


def _store_local_model(
    workspace: WorkspaceConfig, client: MlflowClient, name: str, path: Path
) -> tuple[str, str, str]:
    """Copy a local file/folder into an MLflow logged model; return (source, model id, name).

    The source is the logged model's artifact location, not `models:/<id>`: the SQLite
    registry resolves `models:/` URIs through the process-global tracking URI (MLflow 3.17),
    which need not be this workspace's. Over HTTP the server resolves it, so the version is
    linked to the logged model there (`model_id`).
    """
    from . import store

    if not path.exists():
        raise FileNotFoundError(f"Model path {path} does not exist")
    exp_id = store.experiment_id(workspace, store.MODELS_EXPERIMENT)
    logged_name = "".join("_" if c in '/:.%"\'' else c for c in name) or "model"
    model = client.create_logged_model(experiment_id=exp_id, name=logged_name)
    relative = path.resolve().name
    if path.is_file():
        client.log_model_artifact(model.model_id, str(path))
    else:
        client.log_model_artifacts(model.model_id, str(path), relative)
    client.finalize_logged_model(model.model_id, "READY")
    source = f"models:/{model.model_id}" if store.is_http(workspace.tracking_uri) else model.artifact_location
    return source, model.model_id, relative


@hookimpl
def aml_search_models(
    workspace: WorkspaceConfig, name: str | None, version: int | None, run_id: str | None
) -> list[ModelRecord]:
    from mlflow.exceptions import MlflowException

    from . import store

    client = store.client(workspace)
    if name is not None and version is not None:
        try:
            found = [client.get_model_version(name, str(version))]
        except MlflowException as exc:
            if store.is_missing(exc):
                return []
            raise
    else:
        clauses = []
        for key, value in (("name", name), ("run_id", run_id)):
            literal = store.quote(value) if value is not None else None
            if literal:
                clauses.append(f"{key} = {literal}")
        found, token = [], None
        while True:
            page = client.search_model_versions(
                " and ".join(clauses) or None, max_results=store.PAGE_SIZE, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
    records = [
        store.model_record(v) for v in found
        if (name is None or v.name == name) and (run_id is None or v.run_id == run_id)
        and (version is None or int(v.version) == int(version))
    ]
    records.sort(key=lambda r: (r.created_time or 0.0, r.version), reverse=True)
    return records


@hookimpl
def aml_download_model(workspace: WorkspaceConfig, name: str, version: int, dst_dir: str) -> str:
    import mlflow.artifacts

    from . import store

    client = store.client(workspace)
    model_version = client.get_model_version(name, str(version))
    uri = client.get_model_version_download_uri(name, str(version))
    relative = (model_version.tags or {}).get(TAG_MODEL_FILE) or (model_version.tags or {}).get(TAG_MODEL_DIR)
    if relative:
        uri = f"{uri.rstrip('/')}/{relative}"
    os.makedirs(dst_dir, exist_ok=True)
    return mlflow.artifacts.download_artifacts(
        artifact_uri=uri, dst_path=dst_dir, tracking_uri=workspace.tracking_uri,
        registry_uri=workspace.tracking_uri)


@hookimpl
def aml_set_model_tags(workspace: WorkspaceConfig, name: str, version: int, tags: dict[str, str]) -> bool:
    from . import store

    client = store.client(workspace)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, str(value))
    return True


# --- processes -------------------------------------------------------------------------


@hookimpl
def aml_step_env(workspace: WorkspaceConfig, run: RunRecord, step: Any) -> dict[str, str]:
    return {
        "MLFLOW_TRACKING_URI": workspace.tracking_uri,
        "MLFLOW_RUN_ID": run.run_id,
        "MLFLOW_EXPERIMENT_ID": run.experiment_id,
    }
