"""Entry scripts aml-bridge ships: the driver runs them exactly like a user's entry script.

This folder goes first on a worker's `sys.path` (as a user script's folder does), so it holds
nothing but entry scripts.
"""

from __future__ import annotations

import os

MODEL_SCORING_SCRIPT = "model_scoring.py"


def builtin_scripts_dir() -> str:
    """The folder of the built-in entry scripts (the `source_directory` of a model step)."""
    return os.path.dirname(os.path.abspath(__file__))


__all__ = ["MODEL_SCORING_SCRIPT", "builtin_scripts_dir"]
