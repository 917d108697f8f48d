"""`azureml.pipeline.steps` on aml-bridge."""

from aml_bridge.parallel import ParallelRunConfig, ParallelRunStep
from aml_bridge.pipeline import PythonScriptStep

__all__ = ["ParallelRunConfig", "ParallelRunStep", "PythonScriptStep"]
