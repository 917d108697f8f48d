"""`FileDataset` and `TabularDataset`: lazy, JSON-serialisable definitions over datastore paths.

A definition is `{"type", "sources", "format", "transforms"}`; nothing is read until asked.
An unregistered dataset's id is derived from its definition, so every parse of a DAG file
agrees on it; a registered version carries the id the registry gave it.
"""

from __future__ import annotations

import copy
import json
import tempfile
from typing import Any

from .. import settings
from ..errors import UserErrorException
from ..settings import WorkspaceConfig
from . import dataset_registry as registry
from ._common import DOWNLOAD_MODE, MOUNT_MODE, config_of, normalize_path, stable_hex, stable_uuid
from .local_view import MountContext, local_view, place_files
from .sources import ResolvedFile, backend_for_source, resolve_source, source_root


class AbstractDataset:
    """Shared behaviour: identity, registration, consumption configs, file resolution."""

    def __init__(self, definition: dict[str, Any], workspace: Any = None,
                 registration: dict[str, Any] | None = None) -> None:
        self._definition = definition
        self._workspace = workspace
        self._registration = registration or {}

    # --- identity -----------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._registration.get("id") or stable_uuid(json.dumps(self._definition, sort_keys=True))

    @property
    def name(self) -> str | None:
        return self._registration.get("name")

    @property
    def version(self) -> int | None:
        return self._registration.get("version")

    @property
    def description(self) -> str | None:
        return self._registration.get("description")

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._registration.get("tags") or {})

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by pipeline plans and the registry."""
        registration = {k: v for k, v in self._registration.items() if k != "definition"}
        return {"definition": self._definition, "registration": registration or None}

    @staticmethod
    def from_dict(data: dict[str, Any], workspace: Any = None) -> AbstractDataset:
        kind = data["definition"]["type"]
        cls = {"file": FileDataset, "tabular": TabularDataset}[kind]
        return cls(data["definition"], workspace, data.get("registration"))

    def _with(self, **changes: Any) -> Any:
        definition = copy.deepcopy(self._definition)
        definition.update(changes)
        return type(self)(definition, self._workspace)

    def _transform(self, op: dict[str, Any]) -> Any:
        return self._with(transforms=[*self._definition.get("transforms", []), op])

    # --- registry -----------------------------------------------------------------------

    def register(self, workspace: Any, name: str, description: str | None = None,
                 tags: dict[str, str] | None = None, create_new_version: bool = False) -> Any:
        """Register this definition as a (new) version of `name` and return the registered dataset."""
        record = registry.register(config_of(workspace), name, self._definition, description, tags,
                                   create_new_version)
        return type(self)(record["definition"], workspace, record)

    def _ensure_saved(self, workspace: Any) -> str:
        """Store the definition by id so `Dataset.get_by_id` finds it (done for direct-mode inputs)."""
        record = {**(self.to_dict()["registration"] or {}), "id": self.id, "definition": self._definition}
        registry.save_definition(config_of(workspace), self.id, record)
        return self.id

    # --- consumption --------------------------------------------------------------------

    def as_named_input(self, name: str) -> Any:
        from .dataset_consumption_config import DatasetConsumptionConfig

        return DatasetConsumptionConfig(name, self)

    def _config(self) -> WorkspaceConfig:
        return config_of(self._workspace) if self._workspace is not None else settings.from_environment()

    def _files(self) -> list[ResolvedFile]:
        needs_ws = any("datastore" in s for s in self._definition["sources"])
        config = self._config() if needs_ws else None
        files: list[ResolvedFile] = []
        for source in self._definition["sources"]:
            files.extend(resolve_source(source, backend_for_source(source, config)))
        return files

    def _content_id(self) -> str:
        """Identity of the data behind the definition now (S3 ETags/VersionIds, local digests), so a
        changed input object changes the reuse key of the steps that read this dataset."""
        needs_ws = any("datastore" in s for s in self._definition["sources"])
        config = self._config() if needs_ws else None
        parts = []
        for source in self._definition["sources"]:
            backend = backend_for_source(source, config)
            parts.append(source["url"] if backend is None else backend.content_id(source_root(source)))
        return stable_hex(*parts, length=64)

    def _lineage(self, context: str, content_id: str) -> dict[str, str]:
        """What `aml_log_dataset_inputs` records for this dataset consumed as input `context`."""
        needs_ws = any("datastore" in s for s in self._definition["sources"])
        config = self._config() if needs_ws else None
        uris = []
        for source in self._definition["sources"]:
            backend = backend_for_source(source, config)
            uris.append(source["url"] if backend is None else backend.uri(source.get("path") or source.get("local")))
        kind = "http" if all(u.startswith("http") for u in uris) else "s3" if any(
            u.startswith("s3://") for u in uris) else "local"
        source = {"id": self.id, "version": self.version, "uris": uris}
        return {"name": self.name or f"dataset_{self.id[:8]}", "digest": content_id[:32], "source_type": kind,
                "source": json.dumps(source), "context": context}

    def _is_single_file(self) -> bool:
        """Created from the path of one file (not a folder or glob that happens to hold one)."""
        sources, files = self._definition["sources"], self._files()
        if len(sources) != 1 or len(files) != 1:
            return False
        source = sources[0]
        named = source.get("url") or normalize_path(source.get("path") or source.get("local"))
        return files[0].path == named

    def _validate(self) -> None:
        if not self._files():
            raise UserErrorException("Cannot load any data from the specified path. Make sure the path is "
                                     f"accessible and contains data: {self._definition['sources']}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps({**self._definition, **(self.to_dict()['registration'] or {})})})"


class FileDataset(AbstractDataset):
    """A set of files; scripts get a folder (or the file, for a one-file dataset)."""

    def _files(self) -> list[ResolvedFile]:
        files = super()._files()
        for op in self._definition.get("transforms", []):
            files = files[: op["count"]] if op["op"] == "take" else files[op["count"]:]
        return files

    def to_path(self) -> list[str]:
        return ["/" + f.relative for f in self._files()]

    def download(self, target_path: str | None = None, overwrite: bool = False,
                 ignore_not_found: bool = False) -> list[str]:
        target = target_path or tempfile.mkdtemp(prefix="aml_bridge_download_")
        return place_files(self._files(), target, DOWNLOAD_MODE, overwrite)

    def mount(self, mount_point: str | None = None, **kwargs: Any) -> MountContext:
        return MountContext(self._files(), mount_point)

    def _local_view(self, target_dir: str, mode: str) -> str:
        """The path a step sees for this dataset in `mode` (mount/download)."""
        return local_view(self._files(), target_dir, mode, self._is_single_file())

    def as_mount(self, path_on_compute: str | None = None) -> Any:
        from .dataset_consumption_config import DatasetConsumptionConfig

        return DatasetConsumptionConfig(None, self, MOUNT_MODE, path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> Any:
        from .dataset_consumption_config import DatasetConsumptionConfig

        return DatasetConsumptionConfig(None, self, DOWNLOAD_MODE, path_on_compute)

    def take(self, count: int) -> FileDataset:
        return self._transform({"op": "take", "count": count})

    def skip(self, count: int) -> FileDataset:
        return self._transform({"op": "skip", "count": count})


class TabularDataset(AbstractDataset):
    """Rows read from delimited or Parquet files; pandas is imported only when rows are read."""

    def to_pandas_dataframe(self, on_error: str = "null", out_of_range_datetime: str = "null") -> Any:
        from .tabular import read_frame

        return read_frame(super()._files(), self._definition["format"], self._definition.get("transforms", []))

    def take(self, count: int) -> TabularDataset:
        return self._transform({"op": "take", "count": count})

    def skip(self, count: int) -> TabularDataset:
        return self._transform({"op": "skip", "count": count})

    def keep_columns(self, columns: str | list[str], validate: bool = False) -> TabularDataset:
        return self._transform({"op": "keep_columns", "columns": [columns] if isinstance(columns, str) else columns})

    def drop_columns(self, columns: str | list[str]) -> TabularDataset:
        return self._transform({"op": "drop_columns", "columns": [columns] if isinstance(columns, str) else columns})

    def as_mount(self, path_on_compute: str | None = None) -> Any:
        raise UserErrorException("TabularDataset does not support mount. Only FileDataset supports mount")

    def as_download(self, path_on_compute: str | None = None) -> Any:
        raise UserErrorException("TabularDataset does not support download. Only FileDataset supports download")


__all__ = ["AbstractDataset", "FileDataset", "TabularDataset"]
