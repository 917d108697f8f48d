"""`Experiment.submit(ScriptRunConfig)` on this machine: returns at once, the job runs detached.

As in Azure, the job runs in a fresh copy of `source_directory` (Azure's ignore files apply;
the copy is also the run's snapshot), so `./outputs` holds only this run's files. A detached
`aml-bridge run --attach` launches it, so the submitting process may wait or exit.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import Any

from ..errors import UserErrorException
from ..run import Run
from ..snapshot import copy_tree

_PLAIN = (str, int, float, bool)
_detached: list[subprocess.Popen] = []  # kept so finished launchers are reaped, never waited on


def submit_local(config: Any, experiment: Any, tags: dict[str, Any] | None = None, run_id: str | None = None,
                 parent_run_id: str | None = None) -> Run:
    """Create the run (Starting, with `tags`), snapshot the source, start the detached launcher."""
    from ..cli import RUN_TYPE, new_run_id
    from .job import JobSpec
    from .ranks import rank_envs

    ws = experiment.workspace
    job = _job_argv(config)
    spec = JobSpec.from_run_config(config.run_config)
    rank_envs(spec)  # a layout this machine cannot run fails now, not in the detached job
    run_id = run_id or new_run_id(experiment.name)
    parent = Run.get(ws, parent_run_id) if parent_run_id else None
    run = Run._create(experiment, run_id=run_id, parent=parent, display_name=run_id, run_type=RUN_TYPE,
                      status="Starting", target=config.run_config.target,
                      tags={"mlflow.source.name": config.script or str(config.command), "mlflow.source.type": "LOCAL",
                            **{str(k): "" if v is None else str(v) for k, v in (tags or {}).items()}})
    workdir = os.path.join(ws.config.home, "runs", run.id)
    copy_tree(os.path.abspath(config.source_directory), workdir, exclude=[ws.config.home])
    run.take_snapshot(workdir)
    env = {**os.environ, **ws.config.child_env(), **job_variables(config.run_config)}
    with open(f"{workdir}.job.json", "w") as fh:
        json.dump(spec.to_dict(), fh)
    command = [sys.executable, "-m", "aml_bridge.cli", "run", "--attach", run._backend_id, "--cwd", workdir,
               "--job-spec", f"{workdir}.job.json", *job]
    with open(f"{workdir}.launcher.log", "wb") as log:  # only the launcher's own trouble lands here
        _detached.append(subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=log, start_new_session=True))
    return run


def job_variables(run_config: Any) -> dict[str, str]:
    """Runtime variables: the environment's (deprecated place), then the run configuration's."""
    declared = dict(getattr(run_config.environment, "environment_variables", None) or {})
    declared.update(run_config.environment_variables or {})
    return {str(k): str(v) for k, v in declared.items()}


def _job_argv(config: Any) -> list[str]:
    """The CLI arguments for the job: `SCRIPT ARGS...`, or `--command PROGRAM ARGS...`."""
    if config.command:
        command = shlex.split(config.command) if isinstance(config.command, str) else list(config.command)
        return ["--command", _render(command[0]), "--", *[_render(a) for a in command[1:]]]
    if not config.script:
        raise UserErrorException("ScriptRunConfig needs a script or a command to submit.")
    return [config.script, "--", *[_render(a) for a in config.arguments]]  # `--`: the script's own flags


DATA_PLACEHOLDERS = ("$AZUREML_DATAREFERENCE_", "DatasetConsumptionConfig:", "DatasetOutputConfig:")


def _render(value: Any) -> str:
    """Arguments reach argv as `str()` (AML_API §2.2); data objects need the data plumbing."""
    if isinstance(value, str) and value.startswith(DATA_PLACEHOLDERS):
        raise UserErrorException(
            f"Argument {value!r} stands for data (a DataReference, dataset or resume_from) that a locally "
            "submitted script run cannot mount yet: pass a local path, or run the script as a pipeline step.")
    if isinstance(value, _PLAIN):
        return str(value)
    raise UserErrorException(
        f"Argument {value!r} ({type(value).__name__}) cannot be passed to a locally submitted script yet: "
        "only strings and numbers are supported.")


__all__ = ["submit_local"]
