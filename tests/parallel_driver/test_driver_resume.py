"""Crash-resume: SIGKILL the whole driver (supervisor and workers) mid-step, run it again on the same
work_dir: every line once, and only the mini-batches in flight at the kill run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from aml_bridge.parallel.manifest import file_batches

SCORE = '''
    def run(mini_batch):
        note(event="run", batch=os.path.basename(mini_batch[0]))
        time.sleep(0.05)
        note(event="end", batch=os.path.basename(mini_batch[0]))
        return [os.path.basename(p) for p in mini_batch]
'''
RUNNER = '''
import json, sys
from aml_bridge.parallel import ParallelSettings
from aml_bridge.parallel.driver import run_parallel
args = json.load(open(sys.argv[1]))
summary = run_parallel(ParallelSettings.from_extra(args["settings"]), args["batches"], args["work"],
                       args["out"], 2)
print(summary.status)
'''


def _wait_for(path: Path, ends: int, limit: float = 20.0) -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        if path.exists() and path.read_text().count('"end"') >= ends:
            return
        time.sleep(0.01)
    raise AssertionError("the driver made no progress")


def test_sigkilled_driver_resumes_without_rerun_or_duplicates(script, make_settings, files, drive, side_log,
                                                              log_of, lines_of, tmp_path: Path) -> None:
    settings = make_settings(script(SCORE))
    paths = files(40)
    batches = file_batches(paths, 2)
    args = {"settings": settings.to_extra(), "batches": batches, "work": str(tmp_path / "work"),
            "out": str(tmp_path / "out")}
    (tmp_path / "args.json").write_text(json.dumps(args))
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen([sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "args.json")],
                               env=env, start_new_session=True)
    _wait_for(side_log, 6)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(0.1)
    before = log_of(side_log)
    finished = {e["batch"] for e in before if e["event"] == "end"}
    assert 6 <= len(finished) < 20
    in_flight = {pid: e["batch"] for e in before if e["event"] == "run" for pid in [e["pid"]]}

    summary = drive(settings, paths, batches=batches)
    assert summary.status == "Completed" and summary.done == 20
    lines = lines_of(summary)
    assert lines == [f"f{i:04d}.txt" for i in range(40)]  # every line once, in manifest order
    runs = Counter(e["batch"] for e in log_of(side_log) if e["event"] == "run")
    assert set(runs) == {f"f{i:04d}.txt" for i in range(0, 40, 2)}
    rerun = [batch for batch, count in runs.items() if count > 1]
    assert len(rerun) <= 2 and set(rerun) <= set(in_flight.values())  # only what was in flight at the kill

    again = drive(settings, paths, batches=batches)  # a third call finds nothing to do
    assert again.status == "Completed" and lines_of(again) == lines
    assert Counter(e["batch"] for e in log_of(side_log) if e["event"] == "run") == runs


def test_a_batch_whose_tries_were_used_by_a_dead_session_fails_without_running(
        script, make_settings, files, drive, side_log, log_of, tmp_path: Path) -> None:
    from aml_bridge.parallel.ledger import Ledger

    settings = make_settings(script(SCORE), run_max_try=2)
    ledger = Ledger(str(tmp_path / "work" / "ledger"), supervisor_pid=2 ** 22 + 1)
    ledger.fail_attempt(0, "run() exceeded run_invocation_timeout of 60s")
    ledger.fail_attempt(0, "worker process process000 died (exit code -9)")
    summary = drive(settings, files(4))
    assert (summary.status, summary.done, summary.failed) == ("Completed", 1, 1)
    assert "died" in summary.failed_mini_batches[0]
    assert {e["batch"] for e in log_of(side_log)} == {"f0002.txt"}


def test_spawned_workers_work_too(script, make_settings, files, drive, lines_of) -> None:
    summary = drive(make_settings(script(SCORE)), files(4), start_method="spawn")
    assert summary.status == "Completed" and len(lines_of(summary)) == 4
