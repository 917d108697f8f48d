from aml_bridge.experiment import Experiment

__all__ = ["Experiment"]
