"""`Datastore`: a named storage location of the workspace, with Azure's upload/download API.

Registering an Azure container records the name (never the credentials); where the name points is
decided by `datastore_registry` (config file, else a folder under the workspace home).
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import UserErrorException
from . import datastore_registry as registry
from ._common import config_of, join_path, normalize_path
from .backend import DatastoreBackend
from .data_reference import DataReference

_SECRET_KEYS = {"sas_token", "account_key", "client_secret", "password", "credential"}


class Datastore:
    """A workspace datastore; `Datastore(ws)` is the default one, `Datastore(ws, name)` a named one."""

    def __init__(self, workspace: Any, name: str | None = None) -> None:
        config = config_of(workspace)
        name = name or registry.default_name(config)
        spec = registry.resolve_spec(config, name)
        if spec is None:
            raise UserErrorException(f"Datastore {name!r} not found in workspace {config.name!r}; "
                                     f"known: {registry.list_names(config)}")
        self.workspace = workspace
        self.name = name
        self.datastore_type: str = spec.get("datastore_type", "S3" if spec.get("type") == "s3" else "AzureBlob")
        self.container_name: str | None = spec.get("container_name", spec.get("bucket", name))
        self.account_name: str | None = spec.get("account_name", config.name)
        self.spec = spec
        self.backend: DatastoreBackend = registry.make_backend(config, name, spec)

    @staticmethod
    def get(workspace: Any, datastore_name: str) -> Datastore:
        return Datastore(workspace, datastore_name)

    @staticmethod
    def get_default(workspace: Any) -> Datastore:
        return Datastore(workspace)

    # --- registration -------------------------------------------------------------------

    @staticmethod
    def _register(workspace: Any, datastore_name: str, overwrite: bool, **record: Any) -> Datastore:
        config = config_of(workspace)
        existing = registry.read_registration(config, datastore_name)
        if existing is None or overwrite:
            clean = {k: v for k, v in record.items() if k not in _SECRET_KEYS and v is not None}
            registry.write_registration(config, datastore_name, {"type": "local", **clean})
        return Datastore(workspace, datastore_name)

    @staticmethod
    def register_azure_blob_container(workspace: Any, datastore_name: str, container_name: str,
                                      account_name: str, sas_token: str | None = None,
                                      account_key: str | None = None, protocol: str | None = None,
                                      endpoint: str | None = None, overwrite: bool = False,
                                      create_if_not_exists: bool = False, skip_validation: bool = False,
                                      **kwargs: Any) -> Datastore:
        """Record `datastore_name`; its data lives where the workspace config maps it."""
        return Datastore._register(workspace, datastore_name, overwrite, datastore_type="AzureBlob",
                                   container_name=container_name, account_name=account_name,
                                   protocol=protocol, endpoint=endpoint)

    @staticmethod
    def register_azure_file_share(workspace: Any, datastore_name: str, file_share_name: str,
                                  account_name: str, sas_token: str | None = None,
                                  account_key: str | None = None, protocol: str | None = None,
                                  endpoint: str | None = None, overwrite: bool = False,
                                  create_if_not_exists: bool = False, skip_validation: bool = False,
                                  **kwargs: Any) -> Datastore:
        return Datastore._register(workspace, datastore_name, overwrite, datastore_type="AzureFile",
                                   container_name=file_share_name, account_name=account_name,
                                   protocol=protocol, endpoint=endpoint)

    @staticmethod
    def register_azure_data_lake_gen2(workspace: Any, datastore_name: str, filesystem: str,
                                      account_name: str, tenant_id: str | None = None,
                                      client_id: str | None = None, client_secret: str | None = None,
                                      protocol: str | None = None, endpoint: str | None = None,
                                      overwrite: bool = False, **kwargs: Any) -> Datastore:
        return Datastore._register(workspace, datastore_name, overwrite, datastore_type="AzureDataLakeGen2",
                                   container_name=filesystem, account_name=account_name,
                                   protocol=protocol, endpoint=endpoint)

    @staticmethod
    def register_s3(workspace: Any, datastore_name: str, bucket: str, prefix: str = "",
                    endpoint_url: str | None = None, region: str | None = None,
                    connection_id: str | None = None, overwrite: bool = False, **settings: Any) -> Datastore:
        """Record an S3 datastore. Credentials are not accepted here: they come from the Airflow
        connection `connection_id`, else boto3's standard chain. `settings` may tune transfers
        (`max_concurrency`, `multipart_threshold_mb`, `max_attempts`, `verify_etag`, `profile`)."""
        for key in settings:
            if key in _SECRET_KEYS or key.startswith("aws_"):
                raise UserErrorException(f"register_s3 does not take credentials ({key!r}); use connection_id "
                                         "or the standard AWS chain")
        if not bucket:
            raise UserErrorException("register_s3: bucket must not be empty")
        return Datastore._register(workspace, datastore_name, overwrite, type="s3", datastore_type="S3",
                                   bucket=bucket, prefix=prefix, endpoint_url=endpoint_url, region=region,
                                   connection_id=connection_id, **settings)

    def unregister(self) -> None:
        """Forget the registration record (the data stays where it is)."""
        backend = registry.default_backend(config_of(self.workspace))
        backend.delete(f"{registry.REGISTRY_PREFIX}{self.name}.json")

    # --- data ---------------------------------------------------------------------------

    def upload(self, src_dir: str, target_path: str | None = None, overwrite: bool = False,
               show_progress: bool = True) -> DataReference:
        """Copy a local folder's files under `target_path`; existing files are skipped unless overwrite."""
        if not os.path.isdir(src_dir):
            raise UserErrorException("src_path must be a directory.")
        pairs = []
        for folder, _dirs, files in os.walk(src_dir):
            for file in sorted(files):
                local = os.path.join(folder, file)
                rel = os.path.relpath(local, src_dir).replace(os.sep, "/")
                pairs.append((local, join_path(target_path, rel)))
        self._upload_pairs(pairs, overwrite, show_progress)
        return DataReference(self, path_on_datastore=target_path or "")

    def upload_files(self, files: list[str], relative_root: str | None = None, target_path: str | None = None,
                     overwrite: bool = False, show_progress: bool = True) -> DataReference:
        """Copy files to `target_path`, keeping their path below `relative_root` (default: common folder)."""
        absolute = [os.path.abspath(f) for f in files]
        for path in absolute:
            if not os.path.isfile(path):
                raise UserErrorException(f"'{path}' does not point to a file.")
        root = os.path.abspath(relative_root) if relative_root else os.path.commonpath(
            [os.path.dirname(p) for p in absolute])
        pairs = []
        for path in absolute:
            if os.path.commonpath([root, path]) != root:
                raise UserErrorException(f"relative_root: '{relative_root}' is not part of the file_path: '{path}'.")
            pairs.append((path, join_path(target_path, os.path.relpath(path, root).replace(os.sep, "/"))))
        self._upload_pairs(pairs, overwrite, show_progress)
        return DataReference(self, path_on_datastore=target_path or "")

    def _upload_pairs(self, pairs: list[tuple[str, str]], overwrite: bool, show_progress: bool) -> int:
        say = print if show_progress else (lambda *_: None)
        say(f"Uploading an estimated of {len(pairs)} files")
        written = set(self.backend.upload_files(pairs, overwrite))
        count = 0
        for local, target in pairs:
            if normalize_path(target) in written:
                count += 1
                say(f"Uploaded {local}, {count} files out of an estimated total of {len(pairs)}")
            else:
                say(f"Target already exists. Skipping upload for {target}")
        say(f"Uploaded {count} files")
        return count

    def download(self, target_path: str, prefix: str | None = None, overwrite: bool = False,
                 show_progress: bool = True) -> int:
        """Copy files under `prefix` to `target_path/<datastore path>`; returns how many were copied."""
        os.makedirs(target_path, exist_ok=True)
        written = self.backend.download(normalize_path(prefix), target_path, overwrite)
        if show_progress:
            for path in written:
                print(f"Downloaded {path}")
        return len(written)

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        return DataReference(self).path(path, data_reference_name)

    def as_mount(self) -> DataReference:
        return DataReference(self).as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        return DataReference(self).as_download(path_on_compute)

    def as_upload(self, path_on_compute: str | None = None) -> DataReference:
        return DataReference(self).as_upload(path_on_compute)

    def __repr__(self) -> str:
        return json.dumps({"name": self.name, "container_name": self.container_name,
                           "account_name": self.account_name, "datastore_type": self.datastore_type,
                           "location": self.backend.uri()}, indent=2)

    __str__ = __repr__


__all__ = ["Datastore"]
