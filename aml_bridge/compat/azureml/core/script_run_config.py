from aml_bridge.train.script_run_config import ScriptRunConfig

__all__ = ["ScriptRunConfig"]
