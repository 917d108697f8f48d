"""Where each datastore name lives: workspace config, then registrations, then the built-in stores.

Resolution order for a name (first match wins):
1. the workspace config file's `"datastores": {"<name>": {"type": "local", "path": "..."}}` entry —
   this is how `register_azure_blob_container(account_name="pipelinedata", ...)` in unchanged code
   is pointed at a local fixture folder or an S3 bucket/prefix (`{"type": "s3", "bucket": ...}`);
2. a registration record written by `Datastore.register_*`, kept on the default datastore under
   `.aml_bridge/datastores/<name>.json` so it travels with the workspace (for S3: bucket, prefix,
   endpoint, region, connection id — never credentials);
3. the built-in `workspaceblobstore` / `workspacefilestore`.
A local datastore without an explicit path lives at `<workspace home>/datastores/<name>`.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ..errors import UserErrorException
from ..settings import WorkspaceConfig
from ._common import DEFAULT_DATASTORE_NAME
from .backend import DatastoreBackend, LocalFolderBackend

_S3_CACHE: dict[tuple[str, str, str], DatastoreBackend] = {}
_LOCK = threading.Lock()
BUILTIN = {DEFAULT_DATASTORE_NAME: "AzureBlob", "workspacefilestore": "AzureFile"}
REGISTRY_PREFIX = ".aml_bridge/datastores/"


def default_name(config: WorkspaceConfig) -> str:
    """Name of the workspace's default datastore (config key `default_datastore`)."""
    return str(config.extra.get("default_datastore") or DEFAULT_DATASTORE_NAME)


def _configured(config: WorkspaceConfig) -> dict[str, dict[str, Any]]:
    entries = config.extra.get("datastores") or {}
    if not isinstance(entries, dict):
        raise UserErrorException("Workspace config key 'datastores' must map names to objects")
    return entries


def make_backend(config: WorkspaceConfig, name: str, spec: dict[str, Any]) -> DatastoreBackend:
    """Build the backend a spec describes: `"type": "local"` (default) or `"s3"`.

    S3 backends are cached per (workspace home, spec) so one process shares one boto3 client
    (and its connection pool) per datastore."""
    kind = spec.get("type", "local")
    if kind == "s3":
        key = (config.home, name, json.dumps(spec, sort_keys=True))
        with _LOCK:
            if key not in _S3_CACHE:
                from .s3_backend import S3Backend, S3Settings

                _S3_CACHE[key] = S3Backend(name, S3Settings.from_spec(name, spec), config, spec)
            return _S3_CACHE[key]
    if kind != "local":
        raise UserErrorException(f"Datastore {name!r} has type {kind!r}; installed backends: ['local', 's3']")
    path = spec.get("path")
    if not path:
        return LocalFolderBackend(Path(config.home) / "datastores" / name)
    folder = Path(path).expanduser()
    if not folder.is_absolute():
        base = Path(config.config_path).parent if config.config_path else Path(config.home)
        folder = base / folder
    return LocalFolderBackend(folder)


def default_backend(config: WorkspaceConfig) -> DatastoreBackend:
    name = default_name(config)
    return make_backend(config, name, _configured(config).get(name, {}))


def _record_path(name: str) -> str:
    return f"{REGISTRY_PREFIX}{name}.json"


def read_registration(config: WorkspaceConfig, name: str) -> dict[str, Any] | None:
    backend = default_backend(config)
    if not backend.exists(_record_path(name)):
        return None
    with backend.open(_record_path(name)) as handle:
        return json.load(handle)


def write_registration(config: WorkspaceConfig, name: str, record: dict[str, Any]) -> None:
    with default_backend(config).open(_record_path(name), "wb") as handle:
        handle.write(json.dumps(record, indent=2, sort_keys=True).encode())


def resolve_spec(config: WorkspaceConfig, name: str) -> dict[str, Any] | None:
    """The spec of datastore `name` (its record merged under the config entry), or None."""
    configured = _configured(config).get(name)
    record = read_registration(config, name) if name != default_name(config) else None
    if configured is None and record is None and name not in BUILTIN and name != default_name(config):
        return None
    spec: dict[str, Any] = {"datastore_type": BUILTIN.get(name, "AzureBlob")}
    spec.update(record or {})
    spec.update(configured or {})
    return spec


def list_names(config: WorkspaceConfig) -> list[str]:
    """Every known datastore name: built-ins, configured and registered."""
    names = set(BUILTIN) | {default_name(config)} | set(_configured(config))
    backend = default_backend(config)
    names |= {p[len(REGISTRY_PREFIX):-5] for p in backend.list(REGISTRY_PREFIX) if p.endswith(".json")}
    return sorted(names)


__all__ = ["BUILTIN", "default_backend", "default_name", "list_names", "make_backend", "read_registration",
           "resolve_spec", "write_registration"]
