from aml_bridge.model import Model

__all__ = ["Model"]
