from aml_bridge.compute import ComputeTarget
from aml_bridge.errors import ComputeTargetException

__all__ = ["ComputeTarget", "ComputeTargetException"]
