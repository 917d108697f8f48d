"""`azureml.data.tabular_dataset` on aml-bridge."""

from aml_bridge.data import TabularDataset

__all__ = ["TabularDataset"]
