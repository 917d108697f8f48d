"""`OutputFileDatasetConfig`: a step output written to a datastore path, optionally promoted/registered.

Default destination: the pipeline's default datastore (normally `workspaceblobstore`) at
`dataset/{run-id}/{output-name}`. An unnamed config gets Azure's `output_<8 hex>` name; inside a
pipeline the planner derives those 8 hex from the producing task, so every parse agrees.
"""

from __future__ import annotations

import copy
from typing import Any

from ._common import MOUNT_MODE, UPLOAD_MODE, stable_hex, validate_name
from .types import DataType, PromoteHeadersBehavior, column_types_to_dict, header_mode

DEFAULT_DESTINATION_PATH = "dataset/{run-id}/{output-name}"


class _Origin:
    """Which step lists this output (set by the step; shared by nothing else)."""

    producer_step: Any = None


class OutputDatasetConfig:
    """Base: a named output, its mode, optional registration and tabular promotion."""

    def __init__(self, mode: str, name: str | None = None) -> None:
        self.mode = mode
        self._name = validate_name(name, "output") if name else None
        self._registration: dict[str, Any] | None = None
        self._promotion: dict[str, Any] | None = None
        self._origin = _Origin()

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = f"output_{stable_hex(id(self))}"
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = validate_name(value, "output")

    @property
    def arg_val(self) -> str:
        return f"DatasetOutputConfig:{self.name}"

    def _assign_default_name(self, name: str) -> None:
        if self._name is None:
            self._name = name

    def _copy(self) -> Any:
        # Shallow on purpose: destinations hold Datastore objects that hold the workspace.
        clone = copy.copy(self)
        clone._origin = _Origin()
        return clone

    def register_on_complete(self, name: str, description: str | None = None,
                             tags: dict[str, str] | None = None) -> Any:
        """Register the output as a new version of dataset `name` when the step succeeds."""
        if not name:
            raise ValueError("The registration name of the dataset must not be empty.")
        clone = self._copy()
        clone._registration = {"name": name, "description": description, "tags": dict(tags or {})}
        return clone

    def _set_producer(self, step: Any) -> None:
        self._origin.producer_step = step

    @property
    def _producer(self) -> Any:
        return self._origin.producer_step


class OutputFileDatasetConfig(OutputDatasetConfig):
    """A folder the step writes into, copied to `destination` (mount: live; upload: at the end)."""

    def __init__(self, name: str | None = None, destination: tuple[Any, str] | None = None,
                 source: str | None = None, partition_format: str | None = None) -> None:
        super().__init__(MOUNT_MODE, name)
        self.destination = destination
        self.source = source
        self._upload_options: dict[str, Any] | None = None
        if partition_format:
            self._promotion = {"type": "file", "partition_format": partition_format}

    @property
    def destination_datastore_name(self) -> str | None:
        if not self.destination:
            return None
        store = self.destination[0]
        return store if isinstance(store, str) else store.name

    @property
    def destination_path(self) -> str:
        return self.destination[1] if self.destination and len(self.destination) > 1 else DEFAULT_DESTINATION_PATH

    def as_mount(self, disable_metadata_cache: bool = False) -> OutputFileDatasetConfig:
        clone = self._copy()
        clone.mode, clone._upload_options = MOUNT_MODE, None
        return clone

    def as_upload(self, overwrite: bool = False, source_globs: list[str] | None = None) -> OutputFileDatasetConfig:
        clone = self._copy()
        clone.mode = UPLOAD_MODE
        clone._upload_options = {"overwrite": overwrite, "source_globs": source_globs}
        return clone

    def as_input(self, name: str | None = None) -> Any:
        """Consume this output in a later step (mount mode)."""
        from .dataset_consumption_config import DatasetConsumptionConfig

        return DatasetConsumptionConfig(name, self, MOUNT_MODE)

    def read_delimited_files(self, include_path: bool = False, separator: str = ",",
                             header: bool | PromoteHeadersBehavior = PromoteHeadersBehavior.ALL_FILES_HAVE_SAME_HEADERS,
                             partition_format: str | None = None, path_glob: str | None = None,
                             set_column_types: dict[str, DataType] | None = None) -> OutputTabularDatasetConfig:
        fmt = {"kind": "delimited", "separator": separator, "header": header_mode(header),
               "include_path": include_path, "partition_format": partition_format, "path_glob": path_glob,
               "column_types": column_types_to_dict(set_column_types)}
        return OutputTabularDatasetConfig._from_file_config(self, fmt)

    def read_parquet_files(self, include_path: bool = False, partition_format: str | None = None,
                           path_glob: str | None = None,
                           set_column_types: dict[str, DataType] | None = None) -> OutputTabularDatasetConfig:
        fmt = {"kind": "parquet", "include_path": include_path, "partition_format": partition_format,
               "path_glob": path_glob, "column_types": column_types_to_dict(set_column_types)}
        return OutputTabularDatasetConfig._from_file_config(self, fmt)


class OutputTabularDatasetConfig(OutputFileDatasetConfig):
    """An output promoted to a TabularDataset; consumers receive it in direct mode."""

    _is_tabular = True

    @staticmethod
    def _from_file_config(config: OutputFileDatasetConfig, fmt: dict[str, Any]) -> OutputTabularDatasetConfig:
        clone = OutputTabularDatasetConfig.__new__(OutputTabularDatasetConfig)
        clone.__dict__.update(config.__dict__)
        clone._origin = _Origin()
        clone._promotion = {"type": "tabular", "format": fmt}
        return clone

    def as_input(self, name: str | None = None) -> Any:
        from .dataset_consumption_config import DatasetConsumptionConfig

        return DatasetConsumptionConfig(name, self)


__all__ = ["DEFAULT_DESTINATION_PATH", "OutputDatasetConfig", "OutputFileDatasetConfig",
           "OutputTabularDatasetConfig"]
