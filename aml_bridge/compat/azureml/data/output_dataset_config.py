"""`azureml.data.output_dataset_config` on aml-bridge."""

from aml_bridge.data import OutputDatasetConfig, OutputFileDatasetConfig, OutputTabularDatasetConfig

__all__ = ["OutputDatasetConfig", "OutputFileDatasetConfig", "OutputTabularDatasetConfig"]
