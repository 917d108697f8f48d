"""`azureml.pipeline.steps` on aml-bridge."""

from aml_bridge.pipeline import PythonScriptStep

__all__ = ["PythonScriptStep"]
