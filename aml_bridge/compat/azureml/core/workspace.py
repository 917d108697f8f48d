from aml_bridge.workspace import Workspace

__all__ = ["Workspace"]
