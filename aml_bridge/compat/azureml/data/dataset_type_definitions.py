"""`azureml.data.dataset_type_definitions` on aml-bridge."""

from aml_bridge.data import PromoteHeadersBehavior

__all__ = ["PromoteHeadersBehavior"]
