from aml_bridge.compute import AmlCompute, ComputeInstance, ComputeTarget

__all__ = ["AmlCompute", "ComputeInstance", "ComputeTarget"]
