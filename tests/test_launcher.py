"""The launcher on a real SQLite store with real child processes: env, logs, outputs, kills, errors."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import threading
from pathlib import Path

import pytest
from mlflow import MlflowClient

from aml_bridge import Experiment, Run
from aml_bridge.launcher import LOG_ARTIFACT, child_env, launch

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def job(ws, shared_home, monkeypatch, request):
    """A Running script run in a fresh experiment; children resolve the same store."""
    monkeypatch.setenv("AML_BRIDGE_HOME", shared_home)
    name = re.sub(r"\W", "_", request.node.name)[:40]
    return Run._create(Experiment(ws, name), run_id=f"{name}_{os.getpid()}", run_type="azureml.scriptrun",
                       target="local")


def _python(script: str, *args: str) -> list[str]:
    return [sys.executable, str(SCRIPTS / script), *args]


def test_env_outputs_logs_and_plain_mlflow_land_in_the_run(job, tmp_path):
    stream = io.StringIO()
    code = launch(job, _python("job_env.py"), cwd=str(tmp_path), stream=stream)

    assert code == 0 and job.get_status() == "Completed"
    printed = stream.getvalue()
    assert f"AZUREML_RUN_ID={job.id}" in printed
    assert f"AZUREML_ARM_PROJECT_NAME={job.experiment.name}" in printed
    assert "AZUREML_OUTPUT_DIRECTORY=./outputs" in printed
    assert "script-dir-importable True" in printed
    assert "error line for the log" in printed  # stderr streams too

    files = job.get_file_names()
    for rel in ("top.txt", "nested/deeper/leaf.txt", "already.txt"):
        assert f"outputs/{rel}" in files
    assert files.count("outputs/already.txt") == 1
    job.download_file(LOG_ARTIFACT, str(tmp_path / "log.txt"))
    log = (tmp_path / "log.txt").read_text()
    assert f"AZUREML_RUN_ID={job.id}" in log and "error line for the log" in log

    metrics = job.get_metrics()
    assert metrics["from_azureml"] == 1 and type(metrics["from_azureml"]) is int
    assert metrics["from_mlflow"] == 2.5
    assert MlflowClient(job._ws.tracking_uri).get_run(job._backend_id).data.metrics["from_mlflow"] == 2.5


def test_sigterm_to_the_script_loses_no_metric_and_cancels_the_run(job, tmp_path):
    class KillOnMarker(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("LOGGED"):
                os.kill(int(text.split()[1]), signal.SIGTERM)
            return super().write(text)

    code = launch(job, _python("log_and_wait.py"), cwd=str(tmp_path), stream=KillOnMarker())

    assert code == -signal.SIGTERM
    assert job.get_status() == "Canceled"
    assert job.get_metrics()["loss"] == list(range(10000))


def test_crash_fails_the_run_with_the_stderr_tail(job, tmp_path):
    code = launch(job, _python("crash.py"), cwd=str(tmp_path), stream=io.StringIO())

    assert code == 1 and job.get_status() == "Failed"
    error = job.get_details()["error"]["error"]
    assert error["code"] == "UserError"
    assert "ValueError: learning rate must be positive, got -1.0" in error["message"]
    assert "exited with status code 1" in error["message"]


def test_an_error_the_script_recorded_is_kept(job, tmp_path):
    code = launch(job, _python("fail_recorded.py"), cwd=str(tmp_path), stream=io.StringIO())

    assert code == 1 and job.get_status() == "Failed"
    error = job.get_details()["error"]["error"]
    assert error["debug_type"] == "RuntimeError"
    assert error["message"] == "User program failed with RuntimeError: validation AUC 0.41 is below the 0.6 threshold"


def test_a_program_that_cannot_start_fails_the_run(job, tmp_path):
    code = launch(job, [str(tmp_path / "no-such-python"), "x.py"], cwd=str(tmp_path), stream=io.StringIO())

    assert code == 127 and job.get_status() == "Failed"
    assert "Could not start" in job.get_details()["error"]["error"]["message"]


def test_child_env_names_the_run_and_puts_compat_first(job, tmp_path, monkeypatch):
    import aml_bridge.compat

    monkeypatch.setenv("PYTHONPATH", "/already/there")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "someone-elses")
    env = child_env(job, ["python", "src/train.py"], str(tmp_path), extra_env={"EXTRA": "1"})

    assert env["AML_BRIDGE_RUN_ID"] == job._backend_id and env["AZUREML_RUN_ID"] == job.id
    assert env["MLFLOW_RUN_ID"] == job._backend_id and "MLFLOW_EXPERIMENT_NAME" not in env
    assert env["MLFLOW_TRACKING_URI"] == job._ws.tracking_uri
    assert env["EXTRA"] == "1"
    assert env["PYTHONPATH"].split(os.pathsep) == [aml_bridge.compat.path(), str(tmp_path / "src"), str(tmp_path),
                                                   "/already/there"]


@pytest.mark.parametrize("inherited", [signal.default_int_handler, signal.SIG_IGN], ids=["default", "ignored"])
def test_signals_are_forwarded_to_the_process_group(job, tmp_path, inherited):
    """SIGINT to the launcher (a Ctrl-C) reaches the job, which runs in its own session; also when the
    launcher started with SIGINT ignored (nohup, a background job of a script): the job must not inherit that."""
    signal.signal(signal.SIGINT, inherited)
    script = tmp_path / "wait.py"
    script.write_text("import time\nprint('READY', flush=True)\ntime.sleep(60)\n")

    class InterruptOnReady(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("READY"):
                threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
            return super().write(text)

    code = launch(job, [sys.executable, str(script)], cwd=str(tmp_path), stream=InterruptOnReady())

    try:
        assert code != 0 and job.get_status() == "Canceled"
        assert signal.getsignal(signal.SIGINT) is inherited  # restored
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace_period(job, tmp_path, monkeypatch):
    import aml_bridge.processes

    monkeypatch.setattr(aml_bridge.processes, "KILL_GRACE_SECONDS", 1.0)
    script = tmp_path / "stubborn.py"
    script.write_text("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                      "print('READY', flush=True)\ntime.sleep(60)\n")

    class TerminateOnReady(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("READY"):
                threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
            return super().write(text)

    code = launch(job, [sys.executable, str(script)], cwd=str(tmp_path), stream=TerminateOnReady())

    assert code == -signal.SIGKILL and job.get_status() == "Canceled"
