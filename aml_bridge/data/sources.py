"""Dataset paths: what users pass to `from_files`/`from_delimited_files`, and the files they name.

A source is JSON: `{"datastore": name, "path": p}` (p may hold `*`, `?`, `**`), `{"local": abs}`
or `{"url": u}`. A folder means every file below it; a file's view path is relative to its
folder, a glob's to the part before the first wildcard (so `download()` keeps the layout).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import UserErrorException
from ..settings import WorkspaceConfig
from ._common import normalize_path
from .backend import DatastoreBackend, LocalFolderBackend
from .data_reference import DataReference
from .datapath import DataPath

_WILDCARDS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class ResolvedFile:
    """One file of a dataset: where it is and its path inside the dataset's view."""

    backend: DatastoreBackend | None
    path: str          # backend path, or the URL for web sources
    relative: str      # path inside the dataset view (download/mount layout)

    @property
    def local(self) -> str | None:
        return self.backend.local_path(self.path) if self.backend else None


def to_sources(path: Any) -> list[dict[str, str]]:
    """Normalise Azure's accepted path forms into source dicts."""
    items = path if isinstance(path, list) else [path]
    if not items:
        raise UserErrorException("path must not be empty")
    return [_one_source(item) for item in items]


def _one_source(item: Any) -> dict[str, str]:
    if isinstance(item, tuple) and len(item) == 2:
        store, rel = item
        name = store if isinstance(store, str) else store.name
        return {"datastore": name, "path": str(rel)}
    if isinstance(item, DataPath):
        return {"datastore": item.datastore_name, "path": item.path_on_datastore or ""}
    if isinstance(item, DataReference):
        return {"datastore": item.datastore_name, "path": item.path_on_datastore or ""}
    if isinstance(item, (str, os.PathLike)):
        text = os.fspath(item)
        if re.match(r"^(https?|wasbs?|abfss?|azureml)://", text):
            return {"url": text}
        return {"local": os.path.abspath(os.path.expanduser(text))}
    raise UserErrorException(f"Unsupported dataset path {item!r}: use a (datastore, path) tuple, a DataPath, "
                             "a local path or a URL")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob (`**` spans folders, `*`/`?` stay within one) to a regex."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def _split_glob(path: str) -> tuple[str, str | None]:
    """(fixed folder prefix, pattern) — pattern is None when `path` has no wildcard."""
    match = _WILDCARDS.search(path)
    if not match:
        return path, None
    return path[: path.rfind("/", 0, match.start()) + 1].rstrip("/"), path


def source_root(source: dict[str, str]) -> str:
    """The fixed folder (or file) a source names, before any wildcard: what its content depends on."""
    return _split_glob(normalize_path(source.get("path") or source.get("local")))[0]


def resolve_source(source: dict[str, str], backend: DatastoreBackend | None) -> list[ResolvedFile]:
    """The files a source names, sorted; `backend` is None for URLs."""
    if "url" in source:
        url = source["url"]
        return [ResolvedFile(None, url, url.rstrip("/").rsplit("/", 1)[-1])]
    assert backend is not None
    path = normalize_path(source.get("path") or source.get("local"))
    base, pattern = _split_glob(path)
    if pattern is not None:
        regex = glob_regex(pattern)
        files = [p for p in backend.list(base) if regex.match(p)]
    else:
        files = backend.list(path)
        if files == [path]:
            base = path.rpartition("/")[0]
    cut = len(base) + 1 if base else 0
    return [ResolvedFile(backend, p, p[cut:]) for p in files]


def backend_for_source(source: dict[str, str], config: WorkspaceConfig | None) -> DatastoreBackend | None:
    """The storage a source lives on (a root-folder backend for local paths)."""
    if "url" in source:
        return None
    if "local" in source:
        return LocalFolderBackend(os.path.abspath(os.sep))
    if config is None:
        raise UserErrorException(f"Dataset path on datastore {source['datastore']!r} needs a workspace")
    from .datastore import Datastore  # local import: datastore imports this module's siblings

    return Datastore(config, source["datastore"]).backend


__all__ = ["ResolvedFile", "backend_for_source", "glob_regex", "resolve_source", "source_root", "to_sources"]
