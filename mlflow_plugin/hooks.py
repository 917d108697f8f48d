"""The aml-bridge hooks implemented on MLflow (entry point `aml_bridge: mlflow`).

Import-light on purpose: `import aml_bridge` loads this module through the entry point, and
`import mlflow` costs seconds, so every body imports mlflow (and the helper modules that do)
only when called.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from aml_bridge.hookspecs import hookimpl
from aml_bridge.records import SCALAR, TAG_ERROR, TAG_PARENT, TAG_STATUS, Metric, RunRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from aml_bridge.settings import WorkspaceConfig

log = logging.getLogger(__name__)

# pluggy registers this module, so the artifact and model hooks (in their own modules) are re-exported.
from .artifact_hooks import aml_download_artifact, aml_list_artifacts, aml_log_artifact  # noqa: E402
from .dataset_hooks import aml_log_dataset_inputs  # noqa: E402
from .model_hooks import (  # noqa: E402
    aml_download_model,
    aml_log_model_input,
    aml_register_model,
    aml_search_models,
    aml_set_model_tags,
)

__all__ = [
    "aml_delete_tags", "aml_download_artifact", "aml_download_model", "aml_list_artifacts",
    "aml_list_experiments", "aml_log_artifact", "aml_log_batch", "aml_log_dataset_inputs", "aml_log_model_input",
    "aml_read_metrics", "aml_read_run",
    "aml_register_model", "aml_search_models", "aml_search_runs", "aml_set_model_tags", "aml_set_status",
    "aml_start_run", "aml_step_env",
]

# pluggy registers this module: the artifact and model hooks live in their own modules.

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
    """Log a chunk; a refused value is bisected out so it cannot drop its neighbours.

    Any other failure (the server is unreachable) gives up the chart points of this chunk: the
    journal already holds every value, and raising would make the writer resend the journal part.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.log_batch(run_id, metrics=points)
    except Exception as exc:
        if not (isinstance(exc, MlflowException) and exc.error_code == "INVALID_PARAMETER_VALUE"):
            log.warning("MLflow chart points of run %s not stored (%d points): %s", run_id, len(points), exc)
            return
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


# --- processes -------------------------------------------------------------------------


@hookimpl
def aml_step_env(workspace: WorkspaceConfig, run: RunRecord, step: Any) -> dict[str, str]:
    return {
        "MLFLOW_TRACKING_URI": workspace.tracking_uri,
        "MLFLOW_RUN_ID": run.run_id,
        "MLFLOW_EXPERIMENT_ID": run.experiment_id,
    }
