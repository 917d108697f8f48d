"""Metric journal: the typed source of truth behind `get_metrics`.

Each `aml_log_batch` call uploads one JSON-lines part under `.aml_bridge/metrics/`, one
`[name, value, step, time, kind]` record per line. A part is never rewritten, so any number of
processes can log into one run without read-modify-write races. Python's json keeps the exact
types the core needs (big ints, bools, None, NaN/inf, dict rows).

Part names are `<time_ns:020d>-<pid>-<6 hex>.jsonl`; a part holding any row record ends in
`.rows.jsonl` instead, so materialising tables at run end downloads only those parts.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import secrets
import tempfile
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aml_bridge.records import METRICS_JOURNAL_PREFIX, ROW, SCALAR, Metric

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

JOURNAL_DIR = METRICS_JOURNAL_PREFIX.rstrip("/")
PART_SUFFIX = ".jsonl"
ROWS_SUFFIX = ".rows.jsonl"


def _fallback(value: Any) -> Any:
    """numpy scalars and similar: their Python value; anything else: its text."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return str(value)


_encoder = json.JSONEncoder(separators=(",", ":"), default=_fallback)
_decoder = json.JSONDecoder()


def encode(metrics: Iterable[Metric]) -> str:
    encode_one = _encoder.encode
    return "".join([encode_one([m.name, m.value, m.step, m.time, m.kind]) + "\n" for m in metrics])


def decode(text: str, source: str = "") -> list[Metric]:
    """Records of one part; a damaged line is skipped with a warning, never fatal."""
    found: list[Metric] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            name, value, step, when, kind = _decoder.decode(line)
            found.append(Metric(name, value, step, float(when), kind or SCALAR))
        except (ValueError, TypeError) as exc:
            log.warning("Skipping damaged metric journal line %s:%s: %s", source, number, exc)
    return found


def part_name(has_rows: bool) -> str:
    suffix = ROWS_SUFFIX if has_rows else PART_SUFFIX
    return f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}{suffix}"


def write_part(client: MlflowClient, run_id: str, metrics: list[Metric]) -> str:
    """Upload `metrics` as a new part and return its artifact path."""
    name = part_name(any(m.kind == ROW for m in metrics))
    with tempfile.TemporaryDirectory(prefix="aml-journal-") as folder:
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(encode(metrics))
        client.log_artifact(run_id, path, JOURNAL_DIR)
    return posixpath.join(JOURNAL_DIR, name)


def list_parts(client: MlflowClient, run_id: str, rows_only: bool = False) -> list[str]:
    """Artifact paths of the run's parts in file-name order."""
    suffix = ROWS_SUFFIX if rows_only else PART_SUFFIX
    paths = [f.path for f in client.list_artifacts(run_id, JOURNAL_DIR) if not f.is_dir]
    return sorted((p for p in paths if p.endswith(suffix)), key=posixpath.basename)


def read(client: MlflowClient, run_id: str, rows_only: bool = False) -> list[Metric]:
    """Every journal record in logged order: by time, then part order, then line order."""
    parts = list_parts(client, run_id, rows_only)
    if not parts:
        return []
    records: list[Metric] = []
    with tempfile.TemporaryDirectory(prefix="aml-journal-") as folder:
        if rows_only:
            local = [client.download_artifacts(run_id, part, folder) for part in parts]
        else:
            root = client.download_artifacts(run_id, JOURNAL_DIR, folder)
            local = [os.path.join(root, posixpath.basename(part)) for part in parts]
        for part, path in zip(parts, local):
            with open(path, encoding="utf-8") as handle:
                records.extend(decode(handle.read(), part))
    records.sort(key=lambda m: m.time)  # stable: ties keep part and line order
    return records


__all__ = ["JOURNAL_DIR", "decode", "encode", "list_parts", "part_name", "read", "write_part"]
