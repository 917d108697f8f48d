"""Data tests: a stand-in workspace (anything with `.config`) on a fresh home folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aml_bridge import settings


def _make_ws(home: Path, **file_values: Any) -> SimpleNamespace:
    """A workspace whose config file holds `file_values` (e.g. a `datastores` map)."""
    config_path = home.parent / "aml-bridge.json"
    config_path.write_text(json.dumps({"home": str(home), **file_values}))
    return SimpleNamespace(config=settings.resolve(file_values, config_path, home=str(home)))


@pytest.fixture
def make_ws() -> Callable[..., SimpleNamespace]:
    return _make_ws


@pytest.fixture
def ws(tmp_path: Path) -> SimpleNamespace:
    return _make_ws(tmp_path / "home")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A local folder: a.csv, b.csv, sub/c.csv, notes.txt."""
    folder = tmp_path / "files"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,a\n2,b\n")
    (folder / "b.csv").write_text("x,y\n3,c\n")
    (folder / "sub" / "c.csv").write_text("x,y\n4,d\n")
    (folder / "notes.txt").write_text("hello\n")
    return folder
