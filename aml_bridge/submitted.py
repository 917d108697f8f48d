"""`_SubmittedRun`: what `Run.get_context()` returns inside a process aml-bridge launched.

The launcher (CLI, Airflow operator) owns the run's status; the script's own `complete()`
only flushes and uploads, as in Azure, and `fail()` records the error without ending the run.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from typing import Any

from . import records as R
from . import settings
from .run import Run, error_response
from .run_lookup import find_record, rehydrate

log = logging.getLogger(__name__)
_cache: dict[str, Run] = {}
_lock = threading.Lock()


class _SubmittedRun(Run):
    """The job's own run: status changes are left to whoever launched the process."""

    def complete(self, _set_status: bool = True) -> None:
        super().complete(_set_status=False)

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        self.flush()
        self._upload_outputs()
        self._write(tags={R.TAG_ERROR: json.dumps(error_response(error_details, error_code))})

    def cancel(self) -> None:
        log.warning("cancel() on the run of the current job is ignored; the launcher ends the run.")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self.complete()
        return False

    @property
    def input_datasets(self) -> dict[str, Any]:
        """Dataset inputs by name, from Azure's `AZUREML_DATASET_ENVIRONMENT_VARS` (`VAR:mode,...`)."""
        from .data.inputs import input_datasets

        return input_datasets(self.experiment.workspace)

    @property
    def output_datasets(self) -> dict[str, str]:
        names = [n for n in os.environ.get("AZUREML_DATASET_FILE_OUTPUTS", "").split(";") if n]
        return {n: os.environ[n] for n in names if n in os.environ}


def submitted_run(fresh: bool = False) -> Run | None:
    """The process-wide `_SubmittedRun` named by `AML_BRIDGE_RUN_ID`, or None outside a job."""
    run_id = settings.AML_BRIDGE_RUN_ID.get()
    if not run_id:
        return None
    if fresh:
        return _load(run_id)
    with _lock:
        if run_id not in _cache:
            _cache[run_id] = _load(run_id)
        return _cache[run_id]


def _load(run_id: str) -> Run:
    from .workspace import Workspace

    workspace = Workspace.from_environment()
    record = find_record(workspace.config, run_id)
    base = rehydrate(_experiment(workspace, record.experiment_name), record)
    cls = _SubmittedRun if type(base) is Run else type(f"_Submitted{type(base).__name__}", (_SubmittedRun, type(base)), {})
    run = cls(base.experiment, record.run_id, outputs="./outputs", _record=record)
    if settings.AML_BRIDGE_DISCARD_METRICS.get() == "1":  # a rank > 0: rank 0 logs for the job
        run._queue = deque(maxlen=0)
    return run


def _experiment(workspace: Any, name: str) -> Any:
    from .experiment import Experiment

    return Experiment(workspace, name, _skip_name_validation=True)


__all__ = ["_SubmittedRun", "submitted_run"]
