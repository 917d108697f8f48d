"""Datastores and datasets: Azure's data API over a storage backend (local folder or S3).

Nothing here imports pandas, boto3, mlflow or airflow at import time; pandas is imported inside
`TabularDataset.to_pandas_dataframe()` only.
"""

from __future__ import annotations

from typing import Any

from . import datastore_registry as _registry
from ._common import config_of
from .backend import DatastoreBackend, LocalFolderBackend
from .data_reference import DataReference
from .datapath import DataPath, DataPathComputeBinding
from .dataset import AbstractDataset, FileDataset, TabularDataset
from .dataset_consumption_config import DatasetConsumptionConfig
from .datastore import Datastore
from .factory import Dataset, FileDatasetFactory, TabularDatasetFactory, list_datasets
from .local_view import MountContext
from .output_dataset_config import OutputDatasetConfig, OutputFileDatasetConfig, OutputTabularDatasetConfig
from .types import DataType, PromoteHeadersBehavior


def default_datastore(workspace: Any) -> Datastore:
    """`ws.get_default_datastore()`: `workspaceblobstore` unless the config names another default."""
    return Datastore(workspace)


def registered_datastores(workspace: Any) -> dict[str, Datastore]:
    """`ws.datastores`: every built-in, configured and registered datastore, by name."""
    return {name: Datastore(workspace, name) for name in _registry.list_names(config_of(workspace))}


__all__ = [
    "AbstractDataset",
    "DataPath",
    "DataPathComputeBinding",
    "DataReference",
    "DataType",
    "Dataset",
    "DatasetConsumptionConfig",
    "Datastore",
    "DatastoreBackend",
    "FileDataset",
    "FileDatasetFactory",
    "LocalFolderBackend",
    "MountContext",
    "OutputDatasetConfig",
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "PromoteHeadersBehavior",
    "TabularDataset",
    "TabularDatasetFactory",
    "default_datastore",
    "list_datasets",
    "registered_datastores",
]
