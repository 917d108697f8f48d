"""`azureml.data.dataset_factory` on aml-bridge."""

from aml_bridge.data import DataType, FileDatasetFactory, TabularDatasetFactory

__all__ = ["DataType", "FileDatasetFactory", "TabularDatasetFactory"]
