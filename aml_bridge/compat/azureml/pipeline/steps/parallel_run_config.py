"""`azureml.pipeline.steps.parallel_run_config` on aml-bridge."""

from aml_bridge.parallel import ParallelRunConfig

__all__ = ["ParallelRunConfig"]
