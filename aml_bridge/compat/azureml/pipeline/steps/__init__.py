"""`azureml.pipeline.steps` on aml-bridge."""

from aml_bridge.parallel import ParallelRunConfig, ParallelRunStep
from aml_bridge.pipeline import EstimatorStep, PythonScriptStep

__all__ = ["EstimatorStep", "ParallelRunConfig", "ParallelRunStep", "PythonScriptStep"]
