from aml_bridge.train import Estimator

__all__ = ["Estimator"]
