"""`azure.ai.ml.parallel` on aml-bridge (see `aml_bridge.parallel.v2`)."""

from aml_bridge.parallel import ParallelTask, RetrySettings, RunFunction, parallel_run_function

__all__ = ["ParallelTask", "RetrySettings", "RunFunction", "parallel_run_function"]
