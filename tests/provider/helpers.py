"""Small builders for pipeline tests: write step scripts, read what they recorded."""

from __future__ import annotations

import textwrap
from pathlib import Path

HEADER = """\
import argparse, os, sys, time
from azureml.core import Run
run = Run.get_context()
"""


def script(folder: Path, name: str, body: str) -> Path:
    """Write `folder/name` with the common header (imports, `run = Run.get_context()`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def side_effects(log: Path) -> list[str]:
    """Lines step scripts appended to a shared log: counts real executions (not reuses)."""
    return log.read_text().split() if log.exists() else []
