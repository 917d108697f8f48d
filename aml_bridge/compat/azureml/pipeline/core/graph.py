"""`azureml.pipeline.core.graph` on aml-bridge."""

from aml_bridge.pipeline import InputPortBinding, PipelineData, PipelineParameter

__all__ = ["InputPortBinding", "PipelineData", "PipelineParameter"]
