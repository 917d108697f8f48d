"""Job configuration: `Environment`, `CondaDependencies`, `RunConfiguration`, `ScriptRunConfig`.

Records with Azure's defaults and validations; building environments and distributed launch
come later.
"""

from .conda_dependencies import CondaDependencies
from .environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, Environment
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
    "MpiConfiguration",
    "PyTorchConfiguration",
    "RunConfiguration",
    "ScriptRunConfig",
    "TensorflowConfiguration",
]
