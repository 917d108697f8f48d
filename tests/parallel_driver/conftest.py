"""Driver tests: settings for a step, entry scripts written into tmp, and a runner."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aml_bridge.parallel import ParallelSettings
from aml_bridge.parallel.driver import Summary, run_parallel
from aml_bridge.parallel.manifest import file_batches


def settings_for(source: Path, **overrides: Any) -> ParallelSettings:
    values: dict[str, Any] = dict(
        api="v1", entry_script="score.py", source_directory=str(source), input_kind="file", inputs=["data"],
        side_inputs=[], output="out", mini_batch_size=2, partition_keys=None, node_count=1,
        process_count_per_node=2, error_threshold=-1, allowed_failed_count=None, allowed_failed_percent=None,
        run_invocation_timeout=30, run_max_try=3, output_action="append_row",
        append_row_file_name="parallel_run_step.txt", logging_level="INFO", environment=None,
        environment_version=None)
    values.update(overrides)
    return ParallelSettings(**values)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The entry script's own side-effect log (one JSON object per line)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


PRELUDE = '''
import json, os, sys, time
LOG = os.environ["TEST_SIDE_LOG"]
def note(**kw):
    with open(LOG, "a") as fh:
        fh.write(json.dumps({"pid": os.getpid(), **kw}) + "\\n")
'''


@pytest.fixture
def files(tmp_path: Path) -> Callable[[int], list[str]]:
    def make(count: int) -> list[str]:
        folder = tmp_path / "input"
        folder.mkdir(exist_ok=True)
        paths = []
        for i in range(count):
            path = folder / f"f{i:04d}.txt"
            path.write_text(str(i))
            paths.append(str(path))
        return paths
    return make


@pytest.fixture
def side_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "side.log"
    monkeypatch.setenv("TEST_SIDE_LOG", str(path))
    return path


@pytest.fixture
def script(tmp_path: Path, side_log: Path) -> Callable[[str], Path]:
    """Write `score.py` (with a `note(**kw)` side-effect logger) and return its folder."""
    def write(body: str) -> Path:
        source = tmp_path / "src"
        source.mkdir(exist_ok=True)
        (source / "score.py").write_text(PRELUDE + textwrap.dedent(body))
        return source
    return write


@pytest.fixture
def drive(tmp_path: Path) -> Callable[..., Summary]:
    """Run the driver on file mini-batches; `work_dir`/`output` under tmp unless given."""
    def go(settings: ParallelSettings, paths: list[str], processes: int = 2, **kwargs: Any) -> Summary:
        batches = kwargs.pop("batches", None) or file_batches(paths, settings.mini_batch_size or 10)
        work = kwargs.pop("work_dir", str(tmp_path / "work"))
        output = kwargs.pop("output_path", str(tmp_path / "out"))
        return run_parallel(settings, batches, work, output, processes, **kwargs)
    return go


def output_lines(summary: Summary) -> list[str]:
    assert summary.output_file and os.path.exists(summary.output_file)
    with open(summary.output_file) as fh:
        return fh.read().splitlines()


@pytest.fixture
def make_settings() -> Callable[..., ParallelSettings]:
    return settings_for


@pytest.fixture
def lines_of() -> Callable[[Summary], list[str]]:
    return output_lines


@pytest.fixture
def log_of() -> Callable[[Path], list[dict[str, Any]]]:
    return read_log
