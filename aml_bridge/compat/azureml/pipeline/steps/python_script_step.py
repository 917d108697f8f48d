"""`azureml.pipeline.steps.python_script_step` on aml-bridge."""

from aml_bridge.pipeline import PythonScriptStep

__all__ = ["PythonScriptStep"]
