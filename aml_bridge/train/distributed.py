"""The Estimator's distributed-training settings (`azureml.train.dnn`): `Mpi`, `Gloo`, `Nccl`, `ParameterServer`.

`apply_training` maps any of them (or a `*Configuration` of `ScriptRunConfig`) onto a run
configuration exactly as Azure does (AML_API §2.5): framework, communicator and process counts.
"""

from __future__ import annotations

from typing import Any

from ..errors import TrainingException
from .script_run_config import (
    MpiConfiguration,
    PyTorchConfiguration,
    TensorflowConfiguration,
    apply_distributed,
)


class Mpi:
    """MPI launch with `process_count_per_node` processes on every node."""

    def __init__(self, process_count_per_node: int = 1) -> None:
        self.process_count_per_node = process_count_per_node


class Gloo:
    """PyTorch with the Gloo backend (CPU)."""

    communication_backend = "Gloo"


class Nccl:
    """PyTorch with the NCCL backend (GPU)."""

    communication_backend = "Nccl"


class ParameterServer:
    """TensorFlow parameter-server training."""

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count


def apply_training(run_config: Any, training: Any, node_count: int, process_count_per_node: int) -> None:
    """Set framework/communicator/process counts of `run_config` for `distributed_training`."""
    if isinstance(training, Mpi):
        run_config.framework, run_config.communicator = "Python", "Mpi"
        run_config.mpi = MpiConfiguration(training.process_count_per_node, node_count)
    elif isinstance(training, (Gloo, Nccl)):
        run_config.framework, run_config.communicator = "PyTorch", training.communication_backend
        run_config.pytorch = PyTorchConfiguration(training.communication_backend,
                                                  node_count * process_count_per_node, node_count)
    elif isinstance(training, ParameterServer):
        run_config.framework, run_config.communicator = "TensorFlow", "ParameterServer"
        run_config.tensorflow = TensorflowConfiguration(training.worker_count, training.parameter_server_count)
    elif isinstance(training, (MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration)):
        apply_distributed(run_config, training)
        return
    else:
        raise TrainingException(
            f"distributed_training must be Mpi, Gloo, Nccl, ParameterServer or MpiConfiguration, "
            f"got {type(training).__name__}.")
    run_config.node_count = node_count


__all__ = ["Gloo", "Mpi", "Nccl", "ParameterServer", "apply_training"]
