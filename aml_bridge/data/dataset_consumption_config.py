"""`DatasetConsumptionConfig`: a dataset delivered to a step under a name, in a mode.

The name becomes an environment variable and the key of `run.input_datasets`. When the user
gives none, Azure derives it from the dataset id (`input__<8 hex>`); for an output-config source
the pipeline planner assigns a stable name before anything reads it.
"""

from __future__ import annotations

from typing import Any

from ..errors import UserErrorException
from ._common import DIRECT_MODE, DOWNLOAD_MODE, HDFS_MODE, MOUNT_MODE, validate_name

SUPPORTED_MODES = (DIRECT_MODE, DOWNLOAD_MODE, MOUNT_MODE, HDFS_MODE)


def _underlying(dataset: Any) -> Any:
    """The dataset behind a PipelineParameter (its default), else the object itself."""
    return getattr(dataset, "default_value", dataset)


def _is_tabular(dataset: Any) -> bool:
    from .dataset import TabularDataset
    from .output_dataset_config import OutputTabularDatasetConfig

    return isinstance(_underlying(dataset), (TabularDataset, OutputTabularDatasetConfig)) or bool(
        getattr(dataset, "_is_tabular", False))


class DatasetConsumptionConfig:
    """How a dataset reaches a step: `direct` (the dataset/id), `mount` or `download` (a local path)."""

    def __init__(self, name: str | None, dataset: Any, mode: str = DIRECT_MODE,
                 path_on_compute: str | None = None) -> None:
        mode = mode.lower()
        if mode not in SUPPORTED_MODES:
            raise UserErrorException(f"Invalid mode '{mode}'. Mode can only be mount, download, hdfs, or direct")
        if mode in (MOUNT_MODE, DOWNLOAD_MODE, HDFS_MODE) and _is_tabular(dataset):
            raise UserErrorException(f"{type(_underlying(dataset)).__name__} does not support {mode}. "
                                     f"Only FileDataset supports {mode}")
        if isinstance(dataset, tuple):
            from .factory import Dataset

            dataset = Dataset.get_by_name(dataset[0], dataset[1], dataset[2] if len(dataset) > 2 else "latest")
        if hasattr(dataset, "default_value") and not hasattr(_underlying(dataset), "_definition"):
            raise UserErrorException(f"Invalid PipelineParameter with default value '{dataset.default_value}'. "
                                     "Default value must be of types: FileDataset or TabularDataset")
        self.dataset = dataset
        self._name = validate_name(name, "input") if name else None
        self.mode = mode
        self.path_on_compute = path_on_compute

    @property
    def name(self) -> str:
        if self._name is None:
            dataset_id = getattr(_underlying(self.dataset), "id", None)
            from ._common import stable_hex

            self._name = f"input__{str(dataset_id).split('-')[0]}" if dataset_id else f"input_{stable_hex(id(self))}"
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = validate_name(value, "input")

    @property
    def arg_val(self) -> str:
        return f"DatasetConsumptionConfig:{self.name}"

    def _assign_default_name(self, name: str) -> None:
        """Planner hook: give an unnamed config a name that is the same in every parse."""
        if self._name is None:
            self._name = name

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self._name, self.dataset, DOWNLOAD_MODE, path_on_compute)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self._name, self.dataset, MOUNT_MODE, path_on_compute)

    def as_hdfs(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self._name, self.dataset, HDFS_MODE)

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig(name={self._name!r}, mode={self.mode!r})"


__all__ = ["DatasetConsumptionConfig", "SUPPORTED_MODES"]
