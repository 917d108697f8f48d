"""`azureml.data.file_dataset` on aml-bridge."""

from aml_bridge.data import FileDataset

__all__ = ["FileDataset"]
