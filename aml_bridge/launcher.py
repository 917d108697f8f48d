"""Run a script as the job of a tracked run: Azure's job wrapper, shared by the CLI and Airflow.

Before user code `./outputs` exists and the environment names the run (ours and Azure's
variables, the compat folder on `PYTHONPATH`). While it runs, output streams to the caller and
into `user_logs/std_log.txt`, and SIGTERM/SIGINT reach the script's whole process group. After,
`./logs` and `./outputs` are uploaded and the exit status becomes the run's status
(AML_API §1.8, §1.10): 0 → Completed, a kill → Canceled, anything else → Failed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from . import compat
from . import records as R
from .plugins import hooks
from .run import Run, error_response

log = logging.getLogger(__name__)

LOG_ARTIFACT = "user_logs/std_log.txt"
TAIL_LINES = 30
# A job that ends by one of these was stopped on purpose (a kill), not broken.
CANCEL_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGHUP)
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# After a forwarded signal the job gets this long to flush and exit before its group is killed.
KILL_GRACE_SECONDS = 60.0


@dataclass
class Outcome:
    """How the process ended: its return code (negative: killed by that signal)."""

    returncode: int
    stderr_tail: list[str] = field(default_factory=list)
    forwarded: int | None = None


def launch(run: Run, argv: list[str], cwd: str, extra_env: dict[str, str] | None = None, step: Any = None,
           stream: IO[str] | None = None, *, forward_signals: bool = True,
           on_start: Callable[[subprocess.Popen], None] | None = None) -> int:
    """Run `argv` in `cwd` as the job of `run`, then end the run with the job's outcome.

    Returns the process's return code (negative when a signal killed it, as `subprocess` does).
    `on_start` receives the process (an Airflow `on_kill` can terminate its group); pass
    `forward_signals=False` when the caller handles SIGTERM itself.
    """
    cwd = os.path.abspath(cwd)
    os.makedirs(os.path.join(cwd, "outputs"), exist_ok=True)
    env = child_env(run, argv, cwd, extra_env, step)
    with tempfile.TemporaryDirectory(prefix="aml-bridge-") as tmp:
        log_path = os.path.join(tmp, "std_log.txt")
        outcome = _execute(argv, cwd, env, log_path, stream or sys.stdout, forward_signals, on_start)
        finish(run, cwd, outcome, log_path=log_path, program=os.path.basename(argv[0]))
    return outcome.returncode


def child_env(run: Run, argv: list[str], cwd: str, extra_env: dict[str, str] | None = None,
              step: Any = None) -> dict[str, str]:
    """The job's environment: ours, the plugins' (MLflow), Azure's variables, then `extra_env`."""
    config = run.experiment.workspace.config
    env = dict(os.environ)
    env.update(config.child_env())
    from_plugins: dict[str, str] = {}
    for found in reversed(hooks.aml_step_env(workspace=config, run=run._record, step=step) or []):
        from_plugins.update(found or {})
    if "MLFLOW_RUN_ID" in from_plugins:  # an inherited experiment would contradict the run
        env.pop("MLFLOW_EXPERIMENT_ID", None)
        env.pop("MLFLOW_EXPERIMENT_NAME", None)
    env.update(from_plugins)
    env.update(azure_env(run))
    env.update(extra_env or {})
    folders = [compat.path(), *_script_dirs(argv, cwd), cwd, *env.get("PYTHONPATH", "").split(os.pathsep)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(f for f in folders if f))
    env.setdefault("PYTHONUNBUFFERED", "1")  # stream lines as they are printed
    return env


def azure_env(run: Run) -> dict[str, str]:
    """What Azure's job runner exports (AML_API §8.1), plus the run id `get_context()` reads."""
    ws = run.experiment.workspace
    return {
        "AML_BRIDGE_RUN_ID": run._backend_id,
        "AZUREML_RUN_ID": run.id,
        "AZUREML_ARM_SUBSCRIPTION": ws.subscription_id,
        "AZUREML_ARM_RESOURCEGROUP": ws.resource_group,
        "AZUREML_ARM_WORKSPACE_NAME": ws.name,
        "AZUREML_ARM_PROJECT_NAME": run.experiment.name,
        "AZUREML_EXPERIMENT_ID": run._record.experiment_id,
        "AZUREML_SERVICE_ENDPOINT": ws.config.tracking_uri,
        "AZUREML_OUTPUT_DIRECTORY": "./outputs",
    }


def _script_dirs(argv: list[str], cwd: str) -> list[str]:
    """The folder of the script being run, so its sibling modules import (MIGRATION_SURFACE §4.10)."""
    scripts = [a for a in argv if a.endswith(".py")][:1]
    return [os.path.dirname(os.path.join(cwd, s)) for s in scripts]


# --- running the process -----------------------------------------------------------------


def _execute(argv: list[str], cwd: str, env: dict[str, str], log_path: str, stream: IO[str],
             forward_signals: bool, on_start: Callable[[subprocess.Popen], None] | None) -> Outcome:
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with open(log_path, "wb") as log_file:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as exc:
            log_file.write(f"{exc}\n".encode())
            return Outcome(127, [f"Could not start {argv[0]}: {exc}"])
        lock = threading.Lock()
        pumps = [_pump(proc.stdout, stream, log_file, lock, None), _pump(proc.stderr, stream, log_file, lock, tail)]
        forwarded: list[tuple[int, float]] = []
        previous = _forward(proc, forwarded) if forward_signals else {}
        try:
            if on_start is not None:
                on_start(proc)
            returncode = _wait(proc, forwarded)
        except BaseException:
            _kill_group(proc, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        for pump in pumps:  # a grandchild may keep a pipe open: do not wait for it forever
            pump.join(timeout=10)
    return Outcome(returncode, list(tail), forwarded[0][0] if forwarded else None)


def _wait(proc: subprocess.Popen, forwarded: list[tuple[int, float]]) -> int:
    """Wait for the job; one that ignores a forwarded signal is killed after the grace period."""
    while True:
        try:
            return proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if forwarded and time.monotonic() - forwarded[0][1] > KILL_GRACE_SECONDS:
                _kill_group(proc, signal.SIGKILL)


def _pump(pipe: IO[bytes] | None, stream: IO[str], log_file: IO[bytes], lock: threading.Lock,
          tail: deque[str] | None) -> threading.Thread:
    def copy() -> None:
        assert pipe is not None
        for line in iter(pipe.readline, b""):
            text = line.decode(errors="replace")
            with lock:
                log_file.write(line)
                log_file.flush()
                try:
                    stream.write(text)
                    stream.flush()
                except (OSError, ValueError):  # the caller's stream went away; the log file still has it
                    pass
            if tail is not None:
                tail.append(text)
        pipe.close()

    thread = threading.Thread(target=copy, name="aml-bridge-output", daemon=True)
    thread.start()
    return thread


def _forward(proc: subprocess.Popen, forwarded: list[tuple[int, float]]) -> dict[int, Any]:
    """Send SIGTERM/SIGINT on to the job's process group (it runs in its own session)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def forward(signum: int, frame: Any) -> None:
        forwarded.append((signum, time.monotonic()))
        _kill_group(proc, signum)

    previous = {signum: signal.getsignal(signum) for signum in FORWARDED_SIGNALS}
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    return {s: h for s, h in previous.items() if h is not None}


def _kill_group(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


# --- ending the run ----------------------------------------------------------------------


def finish(run: Run, cwd: str, outcome: Outcome, log_path: str | None = None, program: str = "python") -> str:
    """Upload logs and `./outputs`, then set the status the outcome means; returns that status."""
    status, error = _status(run, outcome, program)
    try:
        run.flush()  # the launching process may have logged too (progress, an operator's metrics)
        if log_path:
            upload_attempt_log(run, log_path)
        upload_new(run, os.path.join(cwd, "logs"), "logs")
        run._outputs = (os.path.join(cwd, "outputs"), "outputs")
        run._upload_outputs()
    except Exception as exc:
        log.exception("aml-bridge: uploading the results of run %s failed", run.id)
        if status == "Completed":
            status, error = "Failed", error_response(f"Uploading the run's outputs failed: {exc}", "SystemError")
    finally:
        run._set_status(status, error)
    return status


def _status(run: Run, outcome: Outcome, program: str) -> tuple[str, dict | None]:
    """Azure's outcome rules; an error the script recorded with `run.fail()` is kept as it is."""
    code = outcome.returncode
    signum = outcome.forwarded or (-code if code < 0 else None)
    if signum in CANCEL_SIGNALS:
        return "Canceled", None
    recorded = run._refresh().tags.get(R.TAG_ERROR)
    if recorded:
        return "Failed", json.loads(recorded)
    if code == 0:
        return "Completed", None
    how = f"was killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status code {code}"
    tail = "".join(outcome.stderr_tail).rstrip()
    return "Failed", error_response(
        f"Execution failed. User process '{program}' {how}. Please check log file '{LOG_ARTIFACT}' "
        f"for error details. Error: {tail}", "UserError")


def upload_attempt_log(run: Run, log_path: str, artifact: str = LOG_ARTIFACT) -> None:
    """Store a process's log as `artifact`, or `<name>_<n>.txt` when an earlier try stored one."""
    if not os.path.exists(log_path):
        return
    existing = set(run.get_file_names())
    name, attempt = artifact, 1
    while name in existing:  # a retried task re-attaches to its run: keep every attempt's log
        attempt += 1
        name = artifact.replace(".txt", f"_{attempt}.txt")
    run._store(name, log_path)


def upload_new(run: Run, folder: str, prefix: str) -> None:
    """Upload every file under `folder` as `<prefix>/<relpath>` unless the script already did."""
    if not os.path.isdir(folder):
        return
    existing = set(run.get_file_names())
    for directory, _, files in os.walk(folder):
        for file in files:
            local = os.path.join(directory, file)
            name = f"{prefix}/{os.path.relpath(local, folder)}".replace(os.sep, "/")
            if name not in existing:
                run._store(name, local)


__all__ = ["LOG_ARTIFACT", "Outcome", "azure_env", "child_env", "finish", "launch", "upload_attempt_log",
           "upload_new"]
