from aml_bridge.train import Gloo, Mpi, Nccl, ParameterServer

__all__ = ["Gloo", "Mpi", "Nccl", "ParameterServer"]
