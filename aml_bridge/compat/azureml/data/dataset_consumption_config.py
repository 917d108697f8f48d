"""`azureml.data.dataset_consumption_config` on aml-bridge."""

from aml_bridge.data import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
