from aml_bridge.train.conda_dependencies import CondaDependencies
from aml_bridge.train.environment import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    ContainerRegistry,
    DockerSection,
    Environment,
    PythonSection,
)

__all__ = [
    "CondaDependencies", "ContainerRegistry", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DockerSection",
    "Environment", "PythonSection",
]
