"""`PipelineRun` and `StepRun`: the run tree of a pipeline, as Azure's pipeline drivers query it."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

from .. import records as R
from ..errors import ActivityFailedException
from ..run import TERMINAL, Run
from ..run_lookup import register_run_type

PIPELINE_RUN_TYPE = "azureml.PipelineRun"
STEP_RUN_TYPE = "azureml.StepRun"
TAG_OUTPUTS = "aml_bridge.outputs"
TAG_TASK_ID = "aml_bridge.task_id"
TAG_REUSE_KEY = "aml_bridge.reuse_key"
TAG_REUSED_FROM = "azureml.reusedrunid"


class _PipelineRunBase(Run):
    """What PipelineRun and StepRun share: status-string waits and no manual status changes."""

    def wait_for_completion(self, show_output: bool = True, timeout_seconds: float = sys.maxsize,
                            raise_on_error: bool = True) -> str:  # type: ignore[override]
        """Poll every second; returns the final status string (Azure returns a string here)."""
        deadline = time.time() + timeout_seconds
        printed: set[str] = set()
        while self.get_status() not in TERMINAL and time.time() < deadline:
            if show_output:
                self._print_progress(printed)
            time.sleep(1)
        status = self.get_status()
        if show_output:
            self._print_progress(printed)
            print(f"\n{type(self).__name__} {self.id} finished with status {status}", flush=True)
        error = self.get_details().get("error")
        if raise_on_error and status == "Failed" and error:
            raise ActivityFailedException(error_details=json.dumps(error, indent=2))
        return status

    def _print_progress(self, printed: set[str]) -> None:
        """Show each finished step once, like Azure's streaming of step logs."""

    def complete(self, _set_status: bool = True) -> None:
        raise NotImplementedError(f"{type(self).__name__}.complete is not supported; the pipeline decides.")

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        raise NotImplementedError(f"{type(self).__name__}.fail is not supported; the pipeline decides.")

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: Any = None) -> Run:
        raise NotImplementedError(f"{type(self).__name__}.child_run is not supported.")


class PipelineRun(_PipelineRunBase):
    """The run of one pipeline submission (one Airflow DAG run); its children are the step runs."""

    DEFAULT_TYPE = PIPELINE_RUN_TYPE

    def get_steps(self) -> Iterator[StepRun]:
        """Step runs, latest first."""
        return self.get_children()  # type: ignore[return-value]

    def find_step_run(self, name: str) -> list[StepRun]:
        """Step runs named `name` (unnamed steps are named after their script, e.g. `train.py`)."""
        return [s for s in self.get_steps() if s.name == name]  # type: ignore[misc]

    def cancel(self) -> None:
        """Stop the pipeline: no further step starts, and it ends Canceled."""
        self._set_status("Canceled")

    def get_tags(self) -> dict[str, str]:
        try:
            return super().get_tags()
        except KeyError:
            return {}

    def _print_progress(self, printed: set[str]) -> None:
        for step in self.get_steps():
            if step.status in TERMINAL and step.id not in printed:
                printed.add(step.id)
                print(f"StepRun({step.name}) {step.id}: {step.status}", flush=True)


class StepRun(_PipelineRunBase):
    """The run of one step: its outputs are datastore locations consumers read."""

    DEFAULT_TYPE = STEP_RUN_TYPE

    @property
    def name(self) -> str:
        return self._record.tags.get(R.TAG_NAME, "")

    def get_outputs(self) -> dict[str, StepRunOutput]:
        locations = json.loads(self._refresh().tags.get(TAG_OUTPUTS, "{}"))
        return {name: StepRunOutput(self, name, loc) for name, loc in locations.items()}

    def get_output(self, name: str) -> StepRunOutput:
        outputs = self.get_outputs()
        if name not in outputs:
            raise KeyError(f"Step run {self.id} has no output {name!r}; outputs: {sorted(outputs)}")
        return outputs[name]

    def get_output_data(self, name: str) -> PortDataReference:
        return self.get_output(name).get_port_data_reference()

    def get_job_log(self) -> str:
        return self._read_text("user_logs/std_log.txt")

    get_stdout_log = get_job_log
    get_stderr_log = get_job_log

    def cancel(self) -> None:
        self._set_status("Canceled")


class StepRunOutput:
    """One output port of a finished step run."""

    def __init__(self, step_run: StepRun, name: str, location: dict[str, str]) -> None:
        self.step_run = step_run
        self.name = name
        self.location = location

    def get_port_data_reference(self) -> PortDataReference:
        return PortDataReference(self.step_run, self.name, self.location)


class PortDataReference:
    """Where a step output lives on its datastore; `download` copies it out."""

    def __init__(self, step_run: StepRun, name: str, location: dict[str, str]) -> None:
        self.step_run = step_run
        self.name = name
        self.datastore_name = location["datastore"]
        self.path_on_datastore = location["path"]

    @property
    def datastore(self) -> Any:
        from ..data import Datastore

        return Datastore(self.step_run.experiment.workspace, self.datastore_name)

    def download(self, local_path: str, overwrite: bool = False, show_progress: bool = True) -> str:
        """Recreate `<local_path>/<path on datastore>/...` as Azure does; returns that folder."""
        backend = self.datastore.backend
        target = os.path.join(local_path, self.path_on_datastore)
        if os.path.exists(target) and overwrite:
            shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
        backend.download(self.path_on_datastore, local_path, overwrite=overwrite)
        return target

    def __repr__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name} ({self.datastore_name}:{self.path_on_datastore})"


register_run_type(PIPELINE_RUN_TYPE, PipelineRun)
register_run_type(STEP_RUN_TYPE, StepRun)

__all__ = ["PipelineRun", "PortDataReference", "StepRun", "StepRunOutput"]
