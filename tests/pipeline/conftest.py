"""Pipeline tests: a stand-in workspace (anything with `.config`) and a source folder of scripts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from aml_bridge import settings

SCRIPTS = ("prep.py", "train.py", "eval.py", "score.py")


@pytest.fixture
def ws(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(config=settings.resolve(home=str(tmp_path / "home")))


@pytest.fixture
def src(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A source directory holding the scripts steps name; also the cwd."""
    folder = tmp_path / "src"
    folder.mkdir()
    for name in SCRIPTS:
        (folder / name).write_text(f"print('{name}')\n")
    monkeypatch.chdir(folder)
    return folder
