"""Rows and tables as MLflow table artifacts, written once when a run ends.

`mlflow.log_table` appends by download + concatenate + re-upload (slow, unsafe with parallel
writers), so rows live in the journal and are rendered here in its format: `tables/<key>.json`
holding `{"columns": [...], "data": [[...], ...]}` (pandas `orient="split"`), listed in the
`mlflow.loggedArtifacts` run tag so the UI's evaluation view finds them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import posixpath
import tempfile
from typing import TYPE_CHECKING, Any

from aml_bridge.records import ROW, Metric

from .store import MAX_TAG_VALUE_LENGTH, metric_key

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
TABLES_DIR = "tables"


def _cell(value: Any) -> Any:
    """Browsers' JSON.parse refuses NaN/Infinity: such cells become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_table(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Columns are the union of row keys in first-seen order; a missing cell is null."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    names = list(columns)
    return {"columns": names, "data": [[_cell(row.get(c)) for c in names] for row in rows]}


def group_rows(metrics: list[Metric]) -> dict[str, list[dict[str, Any]]]:
    """Row records per metric name, names in first-seen order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for metric in metrics:
        if metric.kind == ROW and isinstance(metric.value, dict):
            groups.setdefault(metric.name, []).append(metric.value)
    return groups


def merge_logged_artifacts(current: str | None, paths: list[str]) -> str | None:
    """The new `mlflow.loggedArtifacts` value, or None when nothing changes."""
    try:
        entries = json.loads(current) if current else []
        if not isinstance(entries, list):
            entries = []
    except ValueError:
        entries = []
    changed = False
    for path in paths:
        entry = {"path": path, "type": "table"}
        if entry in entries:
            continue
        if len(json.dumps([*entries, entry])) > MAX_TAG_VALUE_LENGTH:
            log.warning("Too many tables to list in %s; %s is stored but not listed", LOGGED_ARTIFACTS_TAG, path)
            break
        entries.append(entry)
        changed = True
    return json.dumps(entries) if changed else None


def write_tables(client: MlflowClient, run_id: str, metrics: list[Metric], current_tag: str | None) -> list[str]:
    """Write one table artifact per row metric; return their artifact paths."""
    groups = group_rows(metrics)
    if not groups:
        return []
    paths: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aml-tables-") as folder:
        for name, rows in groups.items():
            path = posixpath.join(TABLES_DIR, metric_key(name) + ".json")
            local = os.path.join(folder, *path.split("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "w", encoding="utf-8") as handle:
                json.dump(build_table(rows), handle, default=str)
            client.log_artifact(run_id, local, posixpath.dirname(path))
            paths.append(path)
    tag = merge_logged_artifacts(current_tag, paths)
    if tag is not None:
        client.set_tag(run_id, LOGGED_ARTIFACTS_TAG, tag)
    return paths


__all__ = ["LOGGED_ARTIFACTS_TAG", "build_table", "group_rows", "merge_logged_artifacts", "write_tables"]
