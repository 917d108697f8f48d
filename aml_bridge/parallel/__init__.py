"""Parallel mini-batch steps: v1 `ParallelRunConfig`/`ParallelRunStep` and v2 `parallel_run_function`.

Both plan to one pure-data model (`ParallelSettings`, the `extra` of a `parallel_run` StepPlan),
so one driver will serve both APIs. Configuration only: nothing here imports Airflow, MLflow or
pandas, and nothing here runs anything.
"""

from __future__ import annotations

from typing import Any

from .config import (
    DEFAULT_APPEND_ROW_FILE_NAME,
    DEFAULT_FILE_MINI_BATCH_SIZE,
    DEFAULT_TABULAR_MINI_BATCH_SIZE,
    ParallelRunConfig,
    ParallelSettings,
    parse_mini_batch_size,
)
from .step import RESERVED_ARGUMENTS, ParallelRunStep

# The v2 API (`azure.ai.ml.parallel`) loads on first use: a v1 definition does not pay for it.
_V2 = ("Input", "JobResourceConfiguration", "Output", "Parallel", "ParallelComponent", "ParallelTask",
       "RetrySettings", "RunFunction", "ValidationException", "parallel_run_function")


def __getattr__(name: str) -> Any:
    if name in _V2:
        from . import v2

        return getattr(v2, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_APPEND_ROW_FILE_NAME",
    "DEFAULT_FILE_MINI_BATCH_SIZE",
    "DEFAULT_TABULAR_MINI_BATCH_SIZE",
    "Input",
    "JobResourceConfiguration",
    "Output",
    "Parallel",
    "ParallelComponent",
    "ParallelRunConfig",
    "ParallelRunStep",
    "ParallelSettings",
    "ParallelTask",
    "RESERVED_ARGUMENTS",
    "RetrySettings",
    "RunFunction",
    "ValidationException",
    "parallel_run_function",
    "parse_mini_batch_size",
]
