"""`JobSpec`: what the launcher needs from a run configuration besides argv, as plain JSON.

One record serves `Experiment.submit` (written beside the detached job) and pipeline steps
(carried in the plan), so both get the same environment, time limit and process layout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import RunConfigurationException


@dataclass
class JobSpec:
    """`environment`: Environment JSON (None: this interpreter); `processes`: per node; `timeout`: seconds."""

    environment: dict[str, Any] | None = None
    timeout: float | None = None
    processes: int = 1
    node_count: int = 1
    backend: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any] | None) -> JobSpec:
        return JobSpec(**(data or {}))

    @staticmethod
    def from_run_config(run_config: Any) -> JobSpec:
        """Read a RunConfiguration (or a look-alike) by duck typing."""
        environment = getattr(run_config, "environment", None)
        processes, backend = process_layout(run_config)
        timeout = getattr(run_config, "max_run_duration_seconds", None)
        return JobSpec(environment=environment._to_dict() if hasattr(environment, "_to_dict") else None,
                       timeout=float(timeout) if timeout else None, processes=processes,
                       node_count=int(getattr(run_config, "node_count", 1) or 1), backend=backend)


def process_layout(run_config: Any) -> tuple[int, str | None]:
    """(processes per node, launcher kind) that Azure's framework/communicator settings ask for."""
    framework = str(getattr(run_config, "framework", "Python"))
    communicator = str(getattr(run_config, "communicator", "None"))
    nodes = int(getattr(run_config, "node_count", 1) or 1)
    if framework == "PyTorch":
        total = getattr(run_config.pytorch, "process_count", None) or nodes
        return max(1, int(total) // nodes), "pytorch"
    if communicator in ("Mpi", "IntelMpi", "OpenMpi"):
        return int(run_config.mpi.process_count_per_node or 1), "mpi"
    if framework == "TensorFlow" and communicator == "ParameterServer":
        raise RunConfigurationException(
            "TensorFlow parameter-server jobs are not launched by aml-bridge; use PyTorchConfiguration or "
            "MpiConfiguration (tf.distribute with MultiWorkerMirroredStrategy reads the same rank variables).")
    return 1, None


__all__ = ["JobSpec", "process_layout"]
