"""The versioned dataset registry, kept as JSON files on the workspace's default datastore.

Layout (datastore-relative, so it works unchanged once the default datastore is S3):
    .aml_bridge/datasets/<name>/<version>.json   one registered version
    .aml_bridge/datasets/_ids/<id>.json          every saved definition, registered or not
Versions are claimed with create-only writes, so two processes never get the same number.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..errors import UserErrorException
from ..settings import WorkspaceConfig
from ._common import stable_uuid
from .datastore_registry import default_backend

PREFIX = ".aml_bridge/datasets/"
IDS = PREFIX + "_ids/"


def _check_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or name.startswith((".", "_")):
        raise UserErrorException(f"Invalid dataset name {name!r}: it must not be empty, contain '/' or '\\', "
                                 "or start with '.' or '_'")


def _read(config: WorkspaceConfig, path: str) -> dict[str, Any] | None:
    backend = default_backend(config)
    if not backend.exists(path):
        return None
    with backend.open(path) as handle:
        return json.load(handle)


def _write(config: WorkspaceConfig, path: str, record: dict[str, Any], exclusive: bool = False) -> None:
    with default_backend(config).open(path, "xb" if exclusive else "wb") as handle:
        handle.write(json.dumps(record, indent=2, sort_keys=True).encode())


def versions(config: WorkspaceConfig, name: str) -> list[int]:
    files = default_backend(config).list(f"{PREFIX}{name}/")
    return sorted(int(p.rsplit("/", 1)[-1][:-5]) for p in files if p.endswith(".json"))


def save_definition(config: WorkspaceConfig, dataset_id: str, record: dict[str, Any]) -> None:
    """Make a definition findable by id (`Dataset.get_by_id`, `direct` mode inputs)."""
    _write(config, f"{IDS}{dataset_id}.json", record)


def get_by_id(config: WorkspaceConfig, dataset_id: str) -> dict[str, Any]:
    record = _read(config, f"{IDS}{dataset_id}.json")
    if record is None:
        raise UserErrorException(f"Cannot find dataset with id {dataset_id!r} in the workspace.")
    return record


def get_by_name(config: WorkspaceConfig, name: str, version: int | str = "latest") -> dict[str, Any]:
    known = versions(config, name)
    wanted = known[-1] if version == "latest" and known else int(version) if str(version).isdigit() else None
    record = _read(config, f"{PREFIX}{name}/{wanted}.json") if wanted is not None else None
    if record is None:
        raise UserErrorException(f'Cannot find dataset registered with name "{name}" (version: {version}) '
                                 "in the workspace.")
    return record


def register(config: WorkspaceConfig, name: str, definition: dict[str, Any], description: str | None,
             tags: dict[str, str] | None, create_new_version: bool) -> dict[str, Any]:
    """Register `definition` under `name`; an identical re-registration returns the existing version."""
    _check_name(name)
    known = versions(config, name)
    if known and not create_new_version:
        latest = get_by_name(config, name, known[-1])
        if latest["definition"] == definition:
            return latest
        raise UserErrorException(f'There is already a dataset registered under name "{name}". Specify '
                                 "`create_new_version=True` to register the dataset as a new version.")
    version = (known[-1] if known else 0) + 1
    while True:
        record = {"name": name, "version": version, "id": stable_uuid("dataset", name, version),
                  "description": description, "tags": dict(tags or {}), "definition": definition,
                  "created_time": time.time()}
        try:
            _write(config, f"{PREFIX}{name}/{version}.json", record, exclusive=True)
            break
        except FileExistsError:
            version += 1
    save_definition(config, str(record["id"]), record)
    return record


def list_latest(config: WorkspaceConfig) -> dict[str, dict[str, Any]]:
    """Latest registered version of every dataset name."""
    names = {p[len(PREFIX):].split("/", 1)[0] for p in default_backend(config).list(PREFIX)}
    return {n: get_by_name(config, n) for n in sorted(names) if not n.startswith("_")}


__all__ = ["get_by_id", "get_by_name", "list_latest", "register", "save_definition", "versions"]
