"""`azureml.data` on aml-bridge (see `aml_bridge.data`)."""

from aml_bridge.data import (
    DataType,
    FileDataset,
    OutputFileDatasetConfig,
    OutputTabularDatasetConfig,
    TabularDataset,
)

__all__ = ["DataType", "FileDataset", "OutputFileDatasetConfig", "OutputTabularDatasetConfig", "TabularDataset"]
