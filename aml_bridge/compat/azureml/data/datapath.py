"""`azureml.data.datapath` on aml-bridge."""

from aml_bridge.data import DataPath, DataPathComputeBinding

__all__ = ["DataPath", "DataPathComputeBinding"]
