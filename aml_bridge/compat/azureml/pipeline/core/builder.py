"""`azureml.pipeline.core.builder` on aml-bridge."""

from aml_bridge.pipeline import PipelineData, StepSequence

__all__ = ["PipelineData", "StepSequence"]
