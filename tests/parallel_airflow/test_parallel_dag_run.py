"""ParallelRunStep through real Airflow (`dag.test()`): node_count=2 x process_count_per_node=2.

Covers checklist item 79 (`Run.get_context()` in the entry script is the step run on every worker),
the node fan-out, the gathered append_row output consumed downstream, progress metrics and the
summary on the step run, failures that breach a threshold, and a node crash resumed by its retry.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from aml_bridge import Experiment
from aml_bridge.data import Dataset
from aml_bridge.parallel import ParallelRunConfig, ParallelRunStep
from aml_bridge.pipeline import Pipeline, PipelineData, PipelineParameter, PythonScriptStep
from aml_bridge.train import CondaDependencies, Environment

ENTRY = '''
import json, os, signal, time
from azureml.core import Run
from azureml_user.parallel_run import EntryScript

LOG = os.environ["TEST_SIDE_LOG"]

def note(**kw):
    with open(LOG, "a") as fh:
        fh.write(json.dumps({"pid": os.getpid(), "node": os.environ.get("AML_BRIDGE_NODE_ID"), **kw}) + "\\n")

def init():
    import sys
    try:
        import toolz
        toolz_version = toolz.__version__
    except ImportError:
        toolz_version = None
    note(event="init", run_id=Run.get_context().id, agent=EntryScript().agent_name, python=sys.executable,
         toolz=toolz_version)

def run(mini_batch):
    ctx = Run.get_context()
    names = [os.path.basename(p) for p in mini_batch]
    note(event="run", files=names)
    ctx.log("batch_size", len(mini_batch))
    crash_on = os.environ.get("CRASH_ON")
    if crash_on and crash_on in names and not os.path.exists(os.environ["CRASH_MARKER"]):
        open(os.environ["CRASH_MARKER"], "w").close()
        os.kill(os.getppid(), signal.SIGKILL)  # the node's driver dies with this mini-batch in flight
        time.sleep(30)
    if os.environ.get("FAIL_ON") in names:
        raise ValueError("bad input " + os.environ["FAIL_ON"])
    time.sleep(float(os.environ.get("RUN_SLEEP", "0")))
    return [f"{n}:{open(p).read()}" for n, p in zip(names, mini_batch)]
'''

CONSUMER = '''
import argparse, os
from azureml.core import Run
p = argparse.ArgumentParser(); p.add_argument("--scores"); a = p.parse_args()
with open(os.path.join(a.scores, "scores.txt")) as fh:
    Run.get_context().log("lines_read", len(fh.read().splitlines()))
'''


@pytest.fixture
def side_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "side.log"
    monkeypatch.setenv("TEST_SIDE_LOG", str(path))
    monkeypatch.setenv("AML_BRIDGE_PROGRESS_INTERVAL", "0.5")
    return path


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _pipeline(ws, tmp_path: Path, count: int = 24, **config) -> tuple[Pipeline, list[str]]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "score.py").write_text(textwrap.dedent(ENTRY))
    (src / "consume.py").write_text(textwrap.dedent(CONSUMER))
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    expected = []
    for i in range(count):
        (data / f"f{i:03d}.txt").write_text(str(i * i))
        expected.append(f"f{i:03d}.txt:{i * i}")
    values = dict(environment=Environment("batch"), entry_script="score.py", source_directory=str(src),
                  error_threshold=-1, output_action="append_row", append_row_file_name="scores.txt",
                  compute_target="cpu-cluster", node_count=2, process_count_per_node=2, mini_batch_size=3,
                  run_invocation_timeout=30)
    values.update(config)
    scores = PipelineData("scores", datastore=ws.get_default_datastore())
    step = ParallelRunStep("score", ParallelRunConfig(**values),
                           inputs=[Dataset.File.from_files(str(data)).as_named_input("files")], output=scores,
                           allow_reuse=False)
    consume = PythonScriptStep("consume.py", source_directory=str(src), inputs=[scores],
                               arguments=["--scores", scores], allow_reuse=False)
    return Pipeline(ws, [step, consume]), expected


def _step(pipeline_run, name):
    return next(s for s in pipeline_run.get_steps() if s.name == name)


def test_two_nodes_two_processes_gather_every_line_once_on_one_step_run(ws, tmp_path, side_log) -> None:
    """node_count comes from a pipeline parameter (default 1, submitted 2); the step's environment asks
    for a package the host lacks, so the workers run in its venv."""
    env = Environment("with-toolz")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["toolz==1.2.0"])
    pipeline, expected = _pipeline(ws, tmp_path, node_count=PipelineParameter("nodes", 1), environment=env)
    pipeline_run = Experiment(ws, "parallel-nodes").submit(pipeline, pipeline_parameters={"nodes": 2})

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"
    step = _step(pipeline_run, "score")
    assert step.get_status() == "Completed"
    out = step.get_output_data("scores").download(str(tmp_path / "dl"))
    lines = (Path(out) / "scores.txt").read_text().splitlines()
    assert sorted(lines) == sorted(expected) and len(lines) == len(set(lines))  # every line exactly once
    assert _step(pipeline_run, "consume.py").get_metrics()["lines_read"] == len(expected)

    events = _events(side_log)
    inits = [e for e in events if e["event"] == "init"]
    assert {e["node"] for e in inits} == {"0", "1"}  # both Airflow node tasks worked
    assert len({e["pid"] for e in inits}) == len(inits) == 4  # 2 nodes x 2 processes, init() once each
    assert {e["run_id"] for e in inits} == {step.id}  # item 79: get_context() is the step run everywhere
    assert {e["toolz"] for e in inits} == {"1.2.0"} and all("/envs/" in e["python"] for e in inits)
    metrics = step.get_metrics()
    assert sorted(metrics["batch_size"]) == [3] * 8  # every worker's run.log landed on the one step run
    assert metrics["mini_batches_total"][-1] == 8 and metrics["mini_batches_finished"][-1] == 8
    assert metrics["mini_batches_failed"][-1] == 0 and metrics["items_succeeded"][-1] == len(expected)
    assert metrics["items_per_second"][-1] > 0
    names = step.get_file_names()
    assert "logs/job_result.txt" in names
    assert {"logs/sys/node/0/std_log.txt", "logs/sys/node/1/std_log.txt"} <= set(names)
    step.download_file("logs/job_result.txt", str(tmp_path / "result.txt"))
    assert "Step status: Completed" in (tmp_path / "result.txt").read_text()
    step.download_file("logs/sys/node/0/std_log.txt", str(tmp_path / "node0.txt"))
    assert "mini-batches finished" in (tmp_path / "node0.txt").read_text()  # the periodic progress line


def test_threshold_breach_fails_the_step_with_a_summary(ws, tmp_path, side_log, monkeypatch) -> None:
    monkeypatch.setenv("FAIL_ON", "f004.txt")
    pipeline, _ = _pipeline(ws, tmp_path, count=12, error_threshold=-1, allowed_failed_count=0, run_max_try=2)
    pipeline_run = Experiment(ws, "parallel-breach").submit(pipeline)

    assert pipeline_run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    step = _step(pipeline_run, "score")
    assert step.get_status() == "Failed"
    error = step.get_details()["error"]["error"]["message"]
    assert "allowed_failed_count 0" in error and "[1]" in error  # the failed mini-batch is named
    attempts = [e for e in _events(side_log) if e["event"] == "run" and "f004.txt" in e["files"]]
    assert len(attempts) == 2  # run_max_try
    logs = {n for n in step.get_file_names() if n.startswith("logs/sys/node/")}
    assert "logs/sys/node/0/std_log.txt" in logs and not any("std_log_2" in n for n in logs)  # a breach: no retry
    step.download_file("logs/user/error.txt", str(tmp_path / "error.txt"))
    assert "ValueError: bad input f004.txt" in (tmp_path / "error.txt").read_text()
    assert "consume.py" not in {s.name for s in pipeline_run.get_steps() if s.get_status() == "Completed"}


def test_killed_node_is_retried_and_resumes_without_duplicates(ws, tmp_path, side_log, monkeypatch) -> None:
    monkeypatch.setenv("CRASH_ON", "f010.txt")
    monkeypatch.setenv("CRASH_MARKER", str(tmp_path / "crashed"))
    monkeypatch.setenv("RUN_SLEEP", "0.05")
    pipeline, expected = _pipeline(ws, tmp_path, count=30, node_count=1)
    pipeline_run = Experiment(ws, "parallel-crash").submit(pipeline)

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"
    assert (tmp_path / "crashed").exists()
    step = _step(pipeline_run, "score")
    out = step.get_output_data("scores").download(str(tmp_path / "dl"))
    lines = (Path(out) / "scores.txt").read_text().splitlines()
    assert sorted(lines) == sorted(expected) and len(lines) == len(expected)
    runs = [tuple(e["files"]) for e in _events(side_log) if e["event"] == "run"]
    rerun = {batch for batch in runs if runs.count(batch) > 1}
    assert any("f010.txt" in batch for batch in rerun)
    assert len(rerun) <= 2  # at most the mini-batches in flight (2 processes) ran again
    assert {"logs/sys/node/0/std_log.txt", "logs/sys/node/0/std_log_2.txt"} <= set(step.get_file_names())
