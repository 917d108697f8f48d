"""`EntryScript`: the per-process helper of Azure's parallel driver (AML_API §4.6), read from the
environment the aml-bridge worker sets, so a worker restarted after a timeout gets its own name.
"""

from __future__ import annotations

import logging
import os
from typing import Any

OUTPUT_PATH = "AZUREML_BI_OUTPUT_PATH"
AGENT_NAME = "AML_BRIDGE_AGENT_NAME"
LOG_DIR = "AML_BRIDGE_BI_LOG_DIR"
NODE_ID = "AML_BRIDGE_NODE_ID"
SCRIPT_DIR = "AML_BRIDGE_ENTRY_SCRIPT_DIR"


class EntryScript:
    """A singleton per process: `EntryScript() is EntryScript()`."""

    _instance: EntryScript | None = None
    _logger: logging.Logger | None = None

    def __new__(cls) -> EntryScript:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    @property
    def agent_name(self) -> str:
        """`processNNN`, distinct per worker process of a node (Microsoft's stand-in says `agent000`)."""
        return os.environ.get(AGENT_NAME, "process000")

    @property
    def node_id(self) -> str:
        return os.environ.get(NODE_ID, "0")

    @property
    def output_dir(self) -> str:
        """The step's output folder (`AZUREML_BI_OUTPUT_PATH`), created on first use."""
        path = os.environ.get(OUTPUT_PATH, "output")
        os.makedirs(path, exist_ok=True)
        return path

    @property
    def log_dir(self) -> str:
        return os.environ.get(LOG_DIR, "logs")

    @property
    def working_dir(self) -> str:
        return os.getcwd()

    @property
    def dir(self) -> str:
        """The entry script's folder."""
        return os.environ.get(SCRIPT_DIR, ".")

    @property
    def logger(self) -> logging.Logger:
        """A file logger: `<log_dir>/user/entry_script_log/<node>/<agent>.log.txt`, UTC timestamps."""
        if self._logger is None:
            folder = os.path.join(self.log_dir, "user", "entry_script_log", self.node_id)
            os.makedirs(folder, exist_ok=True)
            logger = logging.getLogger(f"azureml_user.entry_script.{self.agent_name}")
            handler = logging.FileHandler(os.path.join(folder, f"{self.agent_name}.log.txt"))
            formatter = logging.Formatter("%(asctime)s|%(levelname)s|%(message)s")
            formatter.converter = _gmtime
            handler.setFormatter(formatter)
            logger.addHandler(handler)
            logger.setLevel(os.environ.get("AML_BRIDGE_LOGGING_LEVEL", "INFO"))
            type(self)._logger = logger
        return self._logger

    @classmethod
    def _reset(cls) -> None:
        """Forget the instance (a forked worker must not share its parent's logger)."""
        cls._instance = None
        cls._logger = None


def _gmtime(seconds: float | None) -> Any:
    import time

    return time.gmtime(seconds)


__all__ = ["EntryScript"]
