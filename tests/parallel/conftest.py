"""Parallel tests: a stand-in workspace, a source folder with an entry script, and datasets."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aml_bridge import settings
from aml_bridge.data import Dataset
from aml_bridge.parallel import ParallelRunConfig
from aml_bridge.train import Environment


@pytest.fixture
def ws(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(config=settings.resolve(home=str(tmp_path / "home")))


@pytest.fixture
def src(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The entry script's folder (also the cwd), with a producer script for pipelines."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "score.py").write_text("def init():\n    pass\n\n\ndef run(mini_batch):\n    return mini_batch\n")
    (folder / "prep.py").write_text("print('prep')\n")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def files(tmp_path: Path) -> Any:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.txt").write_text(str(i))
    return Dataset.File.from_files(path=str(folder))


@pytest.fixture
def table(tmp_path: Path) -> Any:
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    return Dataset.Tabular.from_delimited_files(path=str(path))


@pytest.fixture
def make_config(src: Path):
    """`make_config(**overrides)`: a valid append_row config unless overridden."""
    def make(**overrides: Any) -> ParallelRunConfig:
        values: dict[str, Any] = dict(environment=Environment("batch"), entry_script="score.py", error_threshold=10,
                                      output_action="append_row", compute_target="cpu-cluster", node_count=2,
                                      source_directory=str(src))
        values.update(overrides)
        return ParallelRunConfig(**values)
    return make
