"""`azureml.pipeline.steps.parallel_run_step` on aml-bridge."""

from aml_bridge.parallel import ParallelRunStep

__all__ = ["ParallelRunStep"]
