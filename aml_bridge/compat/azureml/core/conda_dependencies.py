from aml_bridge.train.conda_dependencies import CondaDependencies

__all__ = ["CondaDependencies"]
