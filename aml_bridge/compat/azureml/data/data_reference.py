"""`azureml.data.data_reference` on aml-bridge."""

from aml_bridge.data import DataReference

__all__ = ["DataReference"]
