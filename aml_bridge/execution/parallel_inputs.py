"""The main inputs of a parallel step on S3: listed page by page into the manifest, never copied.

Each object becomes a manifest entry pinned to its size, ETag and (on a versioned bucket)
VersionId (parallel/remote.py); the worker that runs a mini-batch reads or fetches only that
mini-batch's objects. Local files stay local paths, as before; a dataset with a URL source keeps
the copying path (there is no listing to stream).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from ..data._common import normalize_path
from ..data.s3_backend import S3Backend
from ..data.s3_pinned import iter_pinned
from ..data.sources import _split_glob, backend_for_source, glob_regex, resolve_source
from ..parallel import remote

Entries = Callable[[], Iterator[Any]]  # a fresh stream of manifest entries per call


def streamable(backend: Any) -> bool:
    return isinstance(backend, S3Backend)


def location_entries(store: str, backend: S3Backend, path: str) -> Entries:
    """Every object at or under `path` (an upstream step's output folder), named relative to it."""
    base = normalize_path(path)

    def stream() -> Iterator[Any]:
        for obj in iter_pinned(backend, base):
            name = obj.path.rpartition("/")[2] if obj.path == base else obj.path[len(base) + 1 if base else 0:]
            yield remote.entry(store, obj, name)

    return stream


def _source_entries(store: str, backend: S3Backend, source: dict[str, Any]) -> Iterator[Any]:
    """A dataset source's objects as `resolve_source` names them (glob, folder or file), streamed."""
    path = normalize_path(source.get("path"))
    base, pattern = _split_glob(path)
    regex = glob_regex(pattern) if pattern is not None else None
    for obj in iter_pinned(backend, base):
        if regex is not None and not regex.match(obj.path):
            continue
        if regex is None and obj.path == path:  # the source names one file
            name = obj.path.rpartition("/")[2]
        else:
            name = obj.path[len(base) + 1 if base else 0:]
        yield remote.entry(store, obj, name)


def dataset_entries(dataset: Any, config: Any) -> tuple[str, Entries] | None:
    """(the URI a script sees for the input, a stream of its entries) when any source is on S3;
    None when the dataset has none, or a URL source (both keep the existing path)."""
    sources = dataset._definition["sources"]
    needs_ws = any("datastore" in s for s in sources)
    backends = [backend_for_source(s, config if needs_ws else None) for s in sources]
    remote_sources = [(s, b) for s, b in zip(sources, backends) if streamable(b)]
    if not remote_sources or any(b is None for b in backends):
        return None
    transforms = dataset._definition.get("transforms", []) if dataset._definition["type"] == "file" else []

    def stream() -> Iterator[Any]:
        found: Iterator[Any] = itertools.chain.from_iterable(
            _source_entries(s["datastore"], b, s) if streamable(b) else (f.local for f in resolve_source(s, b))
            for s, b in zip(sources, backends))
        for op in transforms:  # FileDataset.take / skip, in order
            found = itertools.islice(found, op["count"]) if op["op"] == "take" else itertools.islice(
                found, op["count"], None)
        yield from found

    first, backend = remote_sources[0]
    return backend.uri(normalize_path(first.get("path"))), stream


__all__ = ["Entries", "dataset_entries", "location_entries", "streamable"]
