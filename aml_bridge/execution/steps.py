"""Running one pipeline step: attach its run, wire its ports, reuse or launch, publish outputs.

Airflow-free on purpose: the operator hands in the plan step, the pipeline run, the parameter
values and its upstream tasks' results (XCom: run ids and datastore locations, never data).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from typing import IO, Any

from .. import records as R
from ..context import airflow_tags
from ..data import Datastore
from ..errors import AmlBridgeError
from ..pipeline import fingerprint as fp
from ..pipeline.plan import StepPlan
from ..pipeline.resolve import (
    input_location,
    output_locations,
    resolve_arguments,
    step_environment,
    step_parameters,
)
from ..plugins import hooks
from ..run import Run
from ..run_details import error_response
from ..run_lookup import rehydrate
from ..snapshot import copy_tree
from ..train.job import JobSpec
from .runs import STEP_RUN_TYPE, TAG_OUTPUTS, TAG_REUSE_KEY, TAG_REUSED_FROM, TAG_TASK_ID, StepRun

TAG_MAP_INDEX = "aml_bridge.map_index"
TAG_TRY = "aml_bridge.try_number"


class StepFailed(AmlBridgeError):
    """The step's process failed; the message carries the tail of its stderr."""


@dataclass
class StepResult:
    """What a step hands downstream (through XCom): ids and datastore locations only."""

    run_id: str
    aml_run_id: str
    outputs: dict[str, dict[str, str]]
    reuse_key: str | None = None
    reused_from: str | None = None

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)


class StepExecution:
    """One attempt at one step of one pipeline run."""

    def __init__(self, workspace: Any, step: StepPlan, pipeline_run: Run, parameters: dict[str, Any],
                 upstream: dict[str, dict[str, Any]], regenerate_outputs: bool = False, map_index: int = -1,
                 try_number: int = 1) -> None:
        self.workspace = workspace
        self.step = step
        self.pipeline_run = pipeline_run
        self.parameters = parameters
        self.upstream = upstream
        self.regenerate_outputs = regenerate_outputs
        self.map_index = map_index
        self.try_number = try_number
        self.run: StepRun | None = None

    def find_run(self) -> Run | None:
        """The step's run of this pipeline run, if an earlier try (or task of the step) created it."""
        wanted = {TAG_TASK_ID: self.step.task_id, TAG_MAP_INDEX: str(self.map_index)}
        found = hooks.aml_search_runs(workspace=self.workspace.config, experiment_name=None,
                                      parent_run_id=self.pipeline_run._backend_id, tags=wanted) or []
        return rehydrate(self.pipeline_run.experiment, found[0]) if found else None

    def attach_run(self) -> StepRun:
        """The step's run for this pipeline run: found again on a retry, created otherwise."""
        wanted = {TAG_TASK_ID: self.step.task_id, TAG_MAP_INDEX: str(self.map_index)}
        run: Run | None = self.find_run()
        if run is not None:
            run.remove_tags([R.TAG_ERROR])  # this try starts clean; the log of the last one is kept
            run._write(tags={TAG_TRY: str(self.try_number), **airflow_tags()})
            run._set_status("Running")
        else:
            run = Run._create(self.pipeline_run.experiment, name=self.step.name, parent=self.pipeline_run,
                              display_name=self.step.name, run_type=STEP_RUN_TYPE, target="airflow",
                              tags={**wanted, TAG_TRY: str(self.try_number)})
        self.run = run  # type: ignore[assignment]
        return run  # type: ignore[return-value]

    def execute(self, stream: IO[str] | None = None, forward_signals: bool = True, on_start: Any = None) -> StepResult:
        """Reuse an earlier identical run, or launch the script; raises `StepFailed` on failure."""
        from ..launcher import launch

        run = self.run or self.attach_run()
        with ExitStack() as stack:
            inputs, identities = self._inputs(stack)
            key = self._reuse_key(identities) if self.step.allow_reuse else None
            earlier = self._reusable(key) if key and not self.regenerate_outputs else None
            if earlier is not None:
                return self._reuse(run, earlier, key)
            outputs = output_locations(self.step, run.id)
            out_paths = {name: self._output_path(stack, *loc) for name, loc in outputs.items()}
            ports = {**inputs, **{n: p for n, (p, _) in out_paths.items()}}
            argv = [sys.executable, self.step.script or "", *resolve_arguments(self.step, ports, self.parameters)]
            env = step_environment(self.step, ports, self.parameters)
            env.update(stack.enter_context(self._credentials(outputs)))
            cwd = stack.enter_context(_snapshot(self.step.source_directory, self.workspace.config.home))
            code = launch(run, argv, cwd, env, step=self.step, stream=stream, forward_signals=forward_signals,
                          on_start=on_start, job=JobSpec.from_dict(self.step.extra.get("job")))
            if code != 0:
                raise StepFailed(self._failure_message(run, code))
            for name, (local, publish) in out_paths.items():
                try:
                    publish(local)
                except Exception as exc:  # the step's outputs are never announced: no consumer sees them
                    message = (f"Step [{self.step.task_id}] could not publish output {name!r} to datastore "
                               f"{outputs[name][0]!r}: {exc}")
                    run._set_status("Failed", error_response(message, "SystemError"))
                    raise StepFailed(message) from None
        locations = {n: {"datastore": d, "path": p} for n, (d, p) in outputs.items()}
        run._write(tags={TAG_OUTPUTS: json.dumps(locations), **({TAG_REUSE_KEY: key} if key else {})})
        return StepResult(run._backend_id, run.id, locations, key)

    # --- ports --------------------------------------------------------------------------

    def _inputs(self, stack: ExitStack) -> tuple[dict[str, str], dict[str, str]]:
        """Local paths of the inputs, and the content identity of each (for the reuse key); the datasets
        among them are recorded as the run's lineage."""
        paths, identities = {}, {}
        lineage: list[dict[str, str]] = []
        for inp in self.step.inputs:
            if inp.producer is not None:
                produced = self.upstream[inp.producer]
                location = produced["outputs"][inp.output]
                paths[inp.name] = self._upstream_view(stack, inp.name, location)
                identities[inp.name] = fp.upstream_identity(produced.get("reuse_key") or produced["run_id"],
                                                            inp.output or "")
                continue
            source = input_location(self.step, inp, self.parameters)
            if source and source.get("type") == "datastore":
                backend = Datastore(self.workspace, source["datastore"]).backend
                paths[inp.name] = self._input_path(stack, backend, source.get("path", ""))
                identities[inp.name] = backend.content_id(source.get("path", ""))
            elif source and source.get("type") == "dataset":
                dataset = self._dataset(source)
                content = dataset._content_id()
                identities[inp.name] = f"{source['id']}:{content}"
                lineage.append(dataset._lineage(inp.name, content))
                if inp.mode == "direct":
                    dataset._ensure_saved(self.workspace)  # the step resolves it by id
                else:
                    paths[inp.name] = self._dataset_view(stack, inp.name, dataset, inp.mode)
        if lineage and self.run is not None:
            hooks.aml_log_dataset_inputs(workspace=self.workspace.config, run_id=self.run._backend_id,
                                         datasets=lineage)
        return paths, identities

    def _upstream_view(self, stack: ExitStack, name: str, location: dict[str, str]) -> str:
        """The path the step sees for input `name`, an upstream step's output at `location`."""
        backend = Datastore(self.workspace, location["datastore"]).backend
        return self._input_path(stack, backend, location["path"])

    def _dataset_view(self, stack: ExitStack, name: str, dataset: Any, mode: str) -> str:
        """The path the step sees for dataset input `name` in `mode` (mount/download)."""
        return dataset._local_view(self._scratch(stack, "aml-dataset-"), mode)

    def _input_path(self, stack: ExitStack, backend: Any, path: str) -> str:
        """The input's local path: in place on a local datastore, else downloaded for this attempt."""
        local = backend.local_path(path)
        if local is not None:
            return local
        folder = self._scratch(stack, "aml-input-")
        backend.download(path, folder, overwrite=True)
        return os.path.join(folder, path)

    def _scratch(self, stack: ExitStack, prefix: str) -> str:
        """A folder for this attempt's input views, removed when it ends."""
        return stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix))

    def _dataset(self, source: dict[str, Any]) -> Any:
        from ..data import Dataset
        from ..data.dataset import AbstractDataset

        if source.get("dataset"):
            return AbstractDataset.from_dict(source["dataset"], self.workspace)
        return Dataset.get_by_id(self.workspace, source["id"])

    def _credentials(self, outputs: dict[str, tuple[str, str]]) -> Any:
        """Env naming a private file with the S3 connections the step's process may need (never the keys)."""
        from ..data import datastore_registry
        from ..data.s3_credentials import connection_ids, handed_down

        config = self.workspace.config
        names = {*datastore_registry.list_names(config), *(d for d, _ in outputs.values())}
        specs = [datastore_registry.resolve_spec(config, n) or {} for n in sorted(names)]
        return handed_down(config, connection_ids(specs))

    def _output_path(self, stack: ExitStack, datastore: str, path: str) -> tuple[str, Any]:
        """A local folder to write into, and how to publish it once the step succeeded.

        Off a local folder, the step writes into a temporary folder that is uploaded (in parallel,
        verified) only after the script succeeded; the step's result, which is what tells consumers
        where the output is, is written after that — so no consumer ever sees a partial output."""
        backend = Datastore(self.workspace, datastore).backend
        local = backend.local_path(path)
        if local is not None:
            return local, lambda _: None  # written in place, as a mount
        folder = os.path.join(stack.enter_context(tempfile.TemporaryDirectory(prefix="aml-output-")), "out")
        return folder, lambda written: backend.upload_dir(written, path, overwrite=True) if os.path.isdir(written) else None

    # --- reuse --------------------------------------------------------------------------

    def _reuse_key(self, identities: dict[str, str]) -> str:
        fingerprint = fp.step_fingerprint(self.step, self.parameters)
        return fp.reuse_key(fingerprint, identities, step_parameters(self.step, self.parameters))

    def _reusable(self, key: str) -> R.RunRecord | None:
        found = hooks.aml_search_runs(workspace=self.workspace.config, experiment_name=None, parent_run_id=None,
                                      tags={TAG_REUSE_KEY: key}) or []
        done = [r for r in found if r.status == "Completed" and TAG_OUTPUTS in r.tags]
        return done[0] if done else None

    def _reuse(self, run: Run, earlier: R.RunRecord, key: str) -> StepResult:
        """Finish without launching: consumers read the earlier run's outputs."""
        earlier_id = earlier.tags.get(R.TAG_AML_ID) or earlier.run_id
        print(f"Step [{self.step.task_id}] reused the outputs of run {earlier_id}", flush=True)
        outputs = earlier.tags[TAG_OUTPUTS]
        run._write(tags={TAG_OUTPUTS: outputs, TAG_REUSE_KEY: key, TAG_REUSED_FROM: earlier_id})
        run._set_status("Completed")
        return StepResult(run._backend_id, run.id, json.loads(outputs), key, earlier_id)

    def _failure_message(self, run: Run, code: int) -> str:
        error = json.loads(run._refresh().tags.get(R.TAG_ERROR, "{}")).get("error", {})
        return f"Step [{self.step.task_id}] failed (exit code {code}): {error.get('message', '')}".rstrip(": ")


@contextmanager
def _snapshot(source_directory: str | None, home: str) -> Iterator[str]:
    """A fresh copy of the step's source folder (ignore files honoured) to run in."""
    with tempfile.TemporaryDirectory(prefix="aml-step-") as tmp:
        if source_directory:
            copy_tree(source_directory, tmp, exclude=[home])
        yield tmp


__all__ = ["StepExecution", "StepFailed", "StepResult"]
