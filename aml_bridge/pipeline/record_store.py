"""Published-pipeline, endpoint and schedule records as JSON files: `<folder>/<kind>/<id>.json`.

The folder sits in the DAGs folder, so the DAG processor (building published DAGs), the API
server (the REST trigger) and clients all read the same records. Writes replace a file
atomically, so a reader never sees half a record.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .publishing import KINDS

STORE_DIR = "aml_bridge_published"


class RecordStore:
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every record of `kind`, oldest first."""
        found = [json.loads(p.read_text()) for p in self._kind_dir(kind).glob("*.json")]
        return sorted(found, key=lambda r: (r.get("created", ""), r["id"]))

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        path = self._kind_dir(kind) / f"{record_id}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def save(self, kind: str, record: dict[str, Any]) -> None:
        folder = self._kind_dir(kind)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, indent=1, sort_keys=True, default=str)
        os.replace(tmp, folder / f"{record['id']}.json")

    def _kind_dir(self, kind: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"record kind must be one of {KINDS}; got {kind!r}")
        return self.folder / kind


__all__ = ["STORE_DIR", "RecordStore"]
