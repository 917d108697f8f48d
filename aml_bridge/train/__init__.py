"""Job configuration: `Environment`, `CondaDependencies`, `RunConfiguration`, `ScriptRunConfig`.

Records with Azure's defaults and validations, plus the deprecated `Estimator` and its
distributed-training settings.
"""

from .conda_dependencies import CondaDependencies
from .distributed import Gloo, Mpi, Nccl, ParameterServer
from .environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, Environment
from .estimator import Estimator
from .script_run_config import (
    DockerConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
    RunConfiguration,
    ScriptRunConfig,
    TensorflowConfiguration,
)

__all__ = [
    "CondaDependencies",
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "DockerConfiguration",
    "Environment",
    "Estimator",
    "Gloo",
    "Mpi",
    "Nccl",
    "ParameterServer",
    "MpiConfiguration",
    "PyTorchConfiguration",
    "RunConfiguration",
    "ScriptRunConfig",
    "TensorflowConfiguration",
]
