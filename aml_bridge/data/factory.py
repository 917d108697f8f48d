"""`Dataset.File.*`, `Dataset.Tabular.*` and the registry look-ups, as Azure spells them."""

from __future__ import annotations

from typing import Any

from . import dataset_registry as registry
from ._common import config_of
from .dataset import AbstractDataset, FileDataset, TabularDataset
from .sources import to_sources
from .types import DataType, PromoteHeadersBehavior, column_types_to_dict, header_mode


def _workspace_of(path: Any) -> Any:
    """The workspace of the first datastore object among the paths (tuples, DataPaths)."""
    for item in path if isinstance(path, list) else [path]:
        store = item[0] if isinstance(item, tuple) else (getattr(item, "_datastore", None)
                                                         or getattr(item, "datastore", None))
        workspace = getattr(store, "workspace", None)
        if workspace is not None:
            return workspace
    return None


def _make(cls: type[AbstractDataset], path: Any, fmt: dict[str, Any] | None, validate: bool) -> Any:
    kind = "file" if cls is FileDataset else "tabular"
    dataset = cls({"type": kind, "sources": to_sources(path), "format": fmt, "transforms": []},
                  _workspace_of(path))
    if validate:
        dataset._validate()
    return dataset


class FileDatasetFactory:
    """`Dataset.File`."""

    @staticmethod
    def from_files(path: Any, validate: bool = True, partition_format: str | None = None,
                   is_file: bool = False) -> FileDataset:
        """Files from `(datastore, path)` tuples, DataPaths, local paths or URLs; globs allowed."""
        return _make(FileDataset, path, None, validate)


class TabularDatasetFactory:
    """`Dataset.Tabular`."""

    @staticmethod
    def from_delimited_files(path: Any, validate: bool = True, include_path: bool = False,
                             infer_column_types: bool = True,
                             set_column_types: dict[str, DataType] | None = None, separator: str = ",",
                             header: bool | PromoteHeadersBehavior = True, partition_format: str | None = None,
                             support_multi_line: bool = False, empty_as_string: bool = False,
                             encoding: str = "utf8") -> TabularDataset:
        fmt = {"kind": "delimited", "separator": separator, "header": header_mode(header),
               "include_path": include_path, "infer_column_types": infer_column_types,
               "column_types": column_types_to_dict(set_column_types), "partition_format": partition_format,
               "empty_as_string": empty_as_string, "encoding": encoding}
        return _make(TabularDataset, path, fmt, validate)

    @staticmethod
    def from_parquet_files(path: Any, validate: bool = True, include_path: bool = False,
                           set_column_types: dict[str, DataType] | None = None,
                           partition_format: str | None = None) -> TabularDataset:
        fmt = {"kind": "parquet", "include_path": include_path,
               "column_types": column_types_to_dict(set_column_types), "partition_format": partition_format}
        return _make(TabularDataset, path, fmt, validate)


def _load(record: dict[str, Any], workspace: Any) -> Any:
    return AbstractDataset.from_dict({"definition": record["definition"], "registration": record}, workspace)


class Dataset:
    """Azure's `azureml.core.Dataset` entry point: factories and registry look-ups."""

    File = FileDatasetFactory
    Tabular = TabularDatasetFactory

    @staticmethod
    def get_by_name(workspace: Any, name: str, version: int | str = "latest") -> Any:
        return _load(registry.get_by_name(config_of(workspace), name, version), workspace)

    @staticmethod
    def get_by_id(workspace: Any, id: str) -> Any:  # noqa: A002 - Azure's argument name
        return _load(registry.get_by_id(config_of(workspace), id), workspace)

    @staticmethod
    def get_all(workspace: Any) -> dict[str, Any]:
        return list_datasets(workspace)


def list_datasets(workspace: Any) -> dict[str, Any]:
    """`ws.datasets`: the latest version of every registered dataset, by name."""
    return {name: _load(rec, workspace) for name, rec in registry.list_latest(config_of(workspace)).items()}


__all__ = ["Dataset", "FileDatasetFactory", "TabularDatasetFactory", "list_datasets"]
