"""`max_run_duration_seconds`: the job's process tree is ended, the run Canceled with the reason."""

from __future__ import annotations

import os

from aml_bridge.train import ScriptRunConfig

JOB = """\
import subprocess, sys, time
from azureml.core import Run

child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])
print('CHILD', child.pid, flush=True)
run = Run.get_context()
for i in range(2000):
    run.log('loss', i)  # buffered, not flushed: the SIGTERM flush must keep them
print('logged everything', flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "\nState:\tZ" not in fh.read()
    except FileNotFoundError:
        return False


def test_a_run_past_its_time_limit_is_canceled_and_keeps_what_it_logged(exp, tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    monkeypatch.setenv("AML_BRIDGE_FLUSH_INTERVAL", "3600")  # the job's writer flushes only when stopped
    (tmp_path / "slow.py").write_text(JOB)

    run = exp.submit(ScriptRunConfig(str(tmp_path), "slow.py", max_run_duration_seconds=12))
    details = run.wait_for_completion(raise_on_error=False)

    assert details["status"] == "Canceled" and run.get_status() == "Canceled"
    assert "max_run_duration_seconds (12 s)" in run.get_details()["error"]["error"]["message"]
    run.download_file("user_logs/std_log.txt", str(tmp_path / "log.txt"))
    log = (tmp_path / "log.txt").read_text()
    assert "logged everything" in log, log  # the limit struck after the logging, during the sleep
    assert run.get_metrics()["loss"] == list(range(2000))
    child = int(log.split("CHILD ")[1].split()[0])
    assert child != os.getpid() and not _alive(child)  # the whole process tree ended


def test_an_interrupted_launcher_ends_the_job_gracefully_and_cancels_the_run(ws, shared_home, tmp_path, monkeypatch):
    """What Airflow's own execution_timeout does: an exception raised in the launching thread."""
    import io
    import sys
    import time

    import pytest

    from aml_bridge import Experiment, Run
    from aml_bridge.launcher import launch

    monkeypatch.setenv("AML_BRIDGE_HOME", shared_home)
    monkeypatch.setenv("AML_BRIDGE_FLUSH_INTERVAL", "3600")  # the job's writer flushes only when stopped
    (tmp_path / "job.py").write_text("import time\nfrom azureml.core import Run\nrun = Run.get_context()\n"
                                     "run.log('before', 1)\nprint('READY', flush=True)\ntime.sleep(300)\n")
    run = Run._create(Experiment(ws, "interrupted"), run_type="azureml.scriptrun", target="local")

    class Timeout(Exception):
        pass

    def interrupt(process):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "READY" not in stream.getvalue():
            time.sleep(0.1)
        raise Timeout("task timed out")

    stream = io.StringIO()
    with pytest.raises(Timeout):
        launch(run, [sys.executable, "job.py"], str(tmp_path), stream=stream, on_start=interrupt)

    assert run.get_status() == "Canceled"
    assert run.get_metrics() == {"before": 1}  # the job got SIGTERM and flushed
