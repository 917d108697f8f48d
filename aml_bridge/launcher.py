"""Run a script as the job of a tracked run: Azure's job wrapper, shared by the CLI and Airflow.

Before user code `./outputs` exists and the environment names the run (ours and Azure's
variables, the compat folder on `PYTHONPATH`). While it runs, output streams to the caller and
into `user_logs/std_log.txt`, and SIGTERM/SIGINT reach the script's whole process group. A
`JobSpec` adds the environment's interpreter, `max_run_duration_seconds` and one process per rank
(rank > 0 logs to `user_logs/std_log_process_<rank>.txt`). After, `./logs` and `./outputs` are
uploaded and the outcome becomes the run's status (AML_API §1.8, §1.10): 0 → Completed, a kill
or the time limit → Canceled (the latter with the reason), anything else → Failed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Any

from . import compat
from . import records as R
from .plugins import hooks
from .processes import Outcome, Process, run_processes
from .run import Run, error_response

log = logging.getLogger(__name__)

LOG_ARTIFACT = "user_logs/std_log.txt"
RANK_LOG_ARTIFACT = "user_logs/std_log_process_{rank}.txt"
# A job that ends by one of these was stopped on purpose (a kill), not broken.
CANCEL_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGHUP)


def launch(run: Run, argv: list[str], cwd: str, extra_env: dict[str, str] | None = None, step: Any = None,
           stream: IO[str] | None = None, *, forward_signals: bool = True,
           on_start: Callable[[subprocess.Popen], None] | None = None, job: Any = None) -> int:
    """Run `argv` in `cwd` as the job of `run`, then end the run with the job's outcome.

    `job` (a `JobSpec`) picks the interpreter (an isolated environment when the run's
    environment asks for packages), the time limit and the number of ranks. Returns the
    deciding return code (negative when a signal killed it, as `subprocess` does). `on_start`
    receives every process (an Airflow `on_kill` can terminate their groups); pass
    `forward_signals=False` when the caller handles SIGTERM itself.
    """
    from .train.job import JobSpec
    from .train.ranks import rank_envs

    job = job or JobSpec()
    stream = stream or sys.stdout
    cwd = os.path.abspath(cwd)
    os.makedirs(os.path.join(cwd, "outputs"), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aml-bridge-") as tmp:
        log_path = os.path.join(tmp, "std_log.txt")
        try:
            argv = _with_interpreter(argv, job, run, stream, log_path)
            ranks = rank_envs(job)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            _say(stream, log_path, message)
            outcome = Outcome(1, [message], error=error_response(str(exc), "UserError"))
            finish(run, cwd, outcome, log_path=log_path)
            return outcome.returncode
        env = child_env(run, argv, cwd, extra_env, step)
        logs = [log_path] + [os.path.join(tmp, f"rank{r}.txt") for r in range(1, len(ranks))]
        processes = [Process(argv, {**env, **rank}, log, echo=i == 0) for i, (rank, log) in enumerate(zip(ranks, logs))]
        try:
            outcome = run_processes(processes, cwd, stream, forward_signals, on_start, job.timeout)
        except BaseException:  # the caller was interrupted (Airflow's timeout): the job was ended
            finish(run, cwd, Outcome(-signal.SIGTERM), log_path=log_path)
            raise
        rank_logs = {RANK_LOG_ARTIFACT.format(rank=r): logs[r] for r in range(1, len(ranks))}
        finish(run, cwd, outcome, log_path=log_path, program=os.path.basename(argv[0]), extra_logs=rank_logs)
    return outcome.returncode


def _with_interpreter(argv: list[str], job: Any, run: Run, stream: IO[str], log_path: str) -> list[str]:
    """`argv` with this interpreter replaced by the job environment's one (built when needed)."""
    if not argv or argv[0] != sys.executable or job.environment is None:
        return argv
    from .train.environments import interpreter_for

    home = run.experiment.workspace.config.home
    python = interpreter_for(job.environment, home, lambda text: _say(stream, log_path, text))
    return [python, *argv[1:]]


def _say(stream: IO[str], log_path: str, text: str) -> None:
    """A line of the launcher's own (environment build, errors) in the job's output and log."""
    with open(log_path, "a") as log_file:
        log_file.write(text + "\n")
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


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


# --- ending the run ----------------------------------------------------------------------


def finish(run: Run, cwd: str, outcome: Outcome, log_path: str | None = None, program: str = "python",
           extra_logs: dict[str, str] | None = None) -> str:
    """Upload logs and `./outputs`, then set the status the outcome means; returns that status."""
    status, error = _status(run, outcome, program)
    try:
        run.flush()  # the launching process may have logged too (progress, an operator's metrics)
        if log_path:
            upload_attempt_log(run, log_path)
        for name, path in (extra_logs or {}).items():
            upload_attempt_log(run, path, name)
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
    if outcome.error is not None:
        return "Failed", outcome.error
    if outcome.timed_out is not None:
        return "Canceled", error_response(
            f"The run exceeded max_run_duration_seconds ({outcome.timed_out:g} s) and was canceled; everything it "
            f"logged before is kept. Raise max_run_duration_seconds to give it longer.", "UserError")
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


__all__ = ["LOG_ARTIFACT", "Outcome", "RANK_LOG_ARTIFACT", "azure_env", "child_env", "finish", "launch",
           "upload_attempt_log", "upload_new"]
