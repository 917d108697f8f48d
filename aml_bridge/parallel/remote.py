"""Manifest entries for input objects on S3: listed once when the step is prepared, read or fetched
only by the worker that runs their mini-batch.

An entry is a dict `{"store", "path", "size", "etag", "name"}` (+ `"version"` on a versioned
bucket): the datastore name and datastore-relative path, what the listing said, and the path
inside the input (the layout a fetched mini-batch keeps). No credentials: a worker resolves the
datastore from the workspace config as any process does. boto3 is imported on first use only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

Entry = dict[str, Any]


def entry(store: str, obj: Any, name: str) -> Entry:
    """The manifest entry of a `PinnedObject` of datastore `store`."""
    found = {"store": store, "path": obj.path, "size": obj.size, "etag": obj.etag, "name": name}
    if obj.version:
        found["version"] = obj.version
    return found


def is_remote(item: Any) -> bool:
    return isinstance(item, dict)


def label(item: str | Entry) -> str:
    """A name for messages and sorting: the local path, or `store:path`."""
    return f"{item['store']}:{item['path']}" if is_remote(item) else str(item)


_WORKSPACE: ContextVar[Any] = ContextVar("aml_bridge_remote_workspace", default=None)


@contextmanager
def workspace(config: Any) -> Iterator[None]:
    """Resolve datastores from `config` meanwhile (a step's prepare task; a worker uses its env)."""
    token = _WORKSPACE.set(config)
    try:
        yield
    finally:
        _WORKSPACE.reset(token)


_BACKENDS: dict[tuple[Any, ...], Any] = {}


def backend(store: str) -> Any:
    """Datastore `store` of the workspace in use: one backend (one boto3 client) per datastore,
    process and workspace, so a forked worker makes its own."""
    from .. import settings
    from ..data import Datastore

    config = _WORKSPACE.get()
    key = (store, os.getpid(), *((config.config_path, config.home) if config is not None else
                                 (os.environ.get("AML_BRIDGE_CONFIG"), os.environ.get("AML_BRIDGE_HOME"))))
    if key not in _BACKENDS:
        _BACKENDS[key] = Datastore(config or settings.from_environment(), store).backend
    return _BACKENDS[key]


def _pinned(item: Entry) -> Any:
    from ..data.s3_pinned import PinnedObject

    return PinnedObject(item["path"], int(item["size"]), item["etag"], item.get("version"))


def open_entry(item: Entry, buffer_size: int = 1 << 20) -> IO[bytes]:
    """A seekable stream over the listed object (ranged GETs); raises if the object changed."""
    from ..data.s3_pinned import open_pinned

    return open_pinned(backend(item["store"]), _pinned(item), buffer_size)


def fetch(items: list[str | Entry], folder: str) -> list[str]:
    """Local paths of a mini-batch's files, in order: local files as they are, S3 objects fetched
    into `folder` (at their path inside the input; a clash between inputs gets its own subfolder)."""
    from ..data.s3_pinned import download_pinned

    paths: list[str] = []
    by_store: dict[str, list[tuple[Any, str]]] = {}
    taken: set[str] = set()
    for index, item in enumerate(items):
        if not is_remote(item):
            paths.append(str(item))
            continue
        dest = os.path.join(folder, *item["name"].split("/"))
        if dest in taken:
            dest = os.path.join(folder, f"_{index}", *item["name"].split("/"))
        taken.add(dest)
        by_store.setdefault(item["store"], []).append((_pinned(item), dest))
        paths.append(dest)
    for store, pairs in by_store.items():
        download_pinned(backend(store), pairs)
    return paths


__all__ = ["Entry", "backend", "workspace", "entry", "fetch", "is_remote", "label", "open_entry"]
