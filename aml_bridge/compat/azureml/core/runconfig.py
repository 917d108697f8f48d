from aml_bridge.train.conda_dependencies import CondaDependencies
from aml_bridge.train.environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE
from aml_bridge.train.script_run_config import (
    DockerConfiguration,
    HistoryConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
    RunConfiguration,
    TensorflowConfiguration,
)

__all__ = [
    "CondaDependencies", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DockerConfiguration", "HistoryConfiguration",
    "MpiConfiguration", "PyTorchConfiguration", "RunConfiguration", "TensorflowConfiguration",
]
