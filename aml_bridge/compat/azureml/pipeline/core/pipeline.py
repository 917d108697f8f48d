"""`azureml.pipeline.core.pipeline` on aml-bridge."""

from aml_bridge.pipeline import Pipeline

__all__ = ["Pipeline"]
