"""The entry script of `ParallelTask(type='model')`: score an MLflow model with no user code.

Run by the driver like any entry script, so thresholds, retries, timeouts, resume, progress and
node fan-out apply unchanged. The driver has already downloaded and checked the model before
the first mini-batch (aml_bridge/parallel/model_task.py); each worker process loads it once here.
"""

from __future__ import annotations

import os
from typing import Any

from aml_bridge.parallel import model_task

_model: Any = None


def init() -> None:
    global _model
    import mlflow.pyfunc

    # The node's supervisor already gave load_model's environment warnings, once for the node.
    _model = mlflow.pyfunc.load_model(os.environ[model_task.MODEL_PATH_ENV], suppress_warnings=True)


def run(mini_batch: Any) -> Any:
    """Input columns (or the file path) followed by the prediction columns, one row per input."""
    return model_task.score(_model, mini_batch)
