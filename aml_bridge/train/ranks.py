"""Distributed launch on one node: the rank and world variables `torchrun` and `mpirun` set.

Every rank gets both sets (`RANK`, `LOCAL_RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`, ...
and `OMPI_COMM_WORLD_*`), so PyTorch's `env://` init, Horovod and plain MPI-style code all find
their place. Only rank 0 logs metrics to the run (Azure users guard with `rank == 0`; here the
others' metric calls are dropped so the run holds each value once); every rank's output is kept.
"""

from __future__ import annotations

import socket
from typing import Any

from ..errors import RunConfigurationException
from ..settings import AML_BRIDGE_DISCARD_METRICS

DISCARD_METRICS = AML_BRIDGE_DISCARD_METRICS.name


def rank_envs(job: Any) -> list[dict[str, str]]:
    """One environment overlay per process; `[{}]` for a plain single-process job."""
    if job.node_count > 1:
        raise RunConfigurationException(
            f"node_count={job.node_count} cannot run: aml-bridge starts the processes of one node (locally, in an "
            "Airflow task or in one pod/container); multi-node jobs are not launched yet. Use node_count=1 with "
            "more processes per node (PyTorchConfiguration(process_count=n) or Mpi(process_count_per_node=n)).")
    if job.processes <= 1 and job.backend is None:
        return [{}]
    world, port = job.processes, str(_free_port())
    return [_rank(rank, world, port) for rank in range(world)]


def _rank(rank: int, world: int, port: str) -> dict[str, str]:
    env = {
        "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_WORLD_SIZE": str(world),
        "NODE_RANK": "0", "GROUP_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
        "OMPI_COMM_WORLD_RANK": str(rank), "OMPI_COMM_WORLD_SIZE": str(world),
        "OMPI_COMM_WORLD_LOCAL_RANK": str(rank), "OMPI_COMM_WORLD_LOCAL_SIZE": str(world),
        "OMPI_COMM_WORLD_NODE_RANK": "0", "AZ_BATCHAI_TASK_INDEX": str(rank),
    }
    if rank != 0:
        env[DISCARD_METRICS] = "1"
    return env


def _free_port() -> int:
    """A loopback port nobody listens on now (rank 0 binds it as the rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


__all__ = ["DISCARD_METRICS", "rank_envs"]
