"""A parallel step in three phases: prepare (run, inputs, manifest), nodes (the driver), gather (outcome).

Each phase is one Airflow task (`node_count` mapped tasks for the middle one), and all state
between them lives in the step's work folder `<home>/parallel/<step run id>/`: the manifest,
the ledger, the node spec and each node's result. A retried task of any phase finds it again;
a retried node resumes from the ledger. Nodes on other machines need that folder on shared
storage (as Airflow's own DAG and log folders usually are).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from typing import IO, Any

from ..data import Datastore
from ..parallel import manifest, remote
from ..parallel import progress as progress_mod
from ..parallel.config import ParallelSettings
from ..parallel.driver import NodeResult, Summary, manifest_path, summarise
from ..parallel.model_task import check_model
from ..pipeline.resolve import input_location, output_locations, resolve_arguments, step_environment
from ..plugins import hooks
from ..run import Run, error_response
from ..snapshot import copy_tree
from . import parallel_inputs
from .runs import TAG_OUTPUTS, TAG_REUSE_KEY
from .steps import StepExecution, StepFailed, StepResult

SPEC = "node_spec.json"
NODE_LOG = "logs/sys/node/{node}/std_log.txt"


def work_dir_of(workspace: Any, run: Run) -> str:
    return os.path.join(workspace.config.home, "parallel", run._backend_id)


@dataclass
class NodeSpec:
    """What every node task needs, resolved once by the prepare task (JSON in the work folder)."""

    settings: dict[str, Any]
    output_path: str | None
    user_args: list[str]
    env: dict[str, str]
    processes: int
    reuse_key: str | None
    outputs: dict[str, dict[str, str]]

    @staticmethod
    def read(work_dir: str) -> NodeSpec:
        with open(os.path.join(work_dir, SPEC)) as fh:
            return NodeSpec(**json.load(fh))

    def write(self, work_dir: str) -> None:
        path = os.path.join(work_dir, SPEC)
        with open(f"{path}.tmp", "w") as fh:
            json.dump(asdict(self), fh)
        os.replace(f"{path}.tmp", path)

    @property
    def parallel(self) -> ParallelSettings:
        return ParallelSettings.from_extra(self.settings)


class StepStopped(StepFailed):
    """A node stopped the step on purpose (a threshold breach): retrying the node cannot help."""


class ParallelStepExecution(StepExecution):
    """One pipeline run's parallel step; `prepare`, `run_node` and `gather` run in different tasks."""

    work_dir: str = ""

    def _scratch(self, stack: ExitStack, prefix: str) -> str:
        """Input views outlive the prepare task: the node tasks read them."""
        folder = os.path.join(self.work_dir, "inputs", f"{prefix}{uuid.uuid4().hex[:8]}")
        os.makedirs(folder)
        return folder

    def prepare(self) -> dict[str, Any]:
        """Attach the run, reuse or resolve inputs and write the manifest; returns the node list (XCom)."""
        run = self.run or self.attach_run()
        self.work_dir = work_dir_of(self.workspace, run)
        os.makedirs(self.work_dir, exist_ok=True)
        with ExitStack() as stack:
            inputs, identities = self._inputs(stack)
        key = self._reuse_key(identities) if self.step.allow_reuse else None
        earlier = self._reusable(key) if key and not self.regenerate_outputs else None
        if earlier is not None:
            return {"nodes": [], "reused": self._reuse(run, earlier, key).to_xcom()}
        try:
            settings = ParallelSettings.from_extra(self.step.extra).with_parameters(self.parameters)
        except ValueError as exc:  # a bad value submitted for a parameter-valued config field
            raise StepFailed(f"Step [{self.step.task_id}]: {exc}") from None
        outputs = output_locations(self.step, run.id)
        output_path = self._output_folder(outputs)
        ports = {**inputs, **({settings.output: output_path} if settings.output and output_path else {})}
        path = manifest_path(self.work_dir)
        if os.path.exists(path):  # a retried prepare keeps the first manifest
            count = len(manifest.read(path))
        else:
            source = os.path.join(self.work_dir, "source")
            if settings.source_directory and not os.path.isdir(source):
                copy_tree(settings.source_directory, source, exclude=[self.workspace.config.home])
            files = self._main_files(settings, inputs)  # a stream: S3 listings are written as they come
            with remote.workspace(self.workspace.config):
                count = manifest.write(path, manifest.batches(settings.input_kind, files, settings.mini_batch_size,
                                                              settings.partition_keys, settings.rank_mini_batch_count))
        if settings.source_directory:
            settings.source_directory = os.path.join(self.work_dir, "source")
        if settings.model:  # a model that cannot take the input fails the step here, before any node starts
            with remote.workspace(self.workspace.config):
                check_model(settings, manifest.read(path), self.work_dir, self.workspace.config.tracking_uri)
            run.tag("azureml.parallel.model", settings.model)
            hooks.aml_log_model_input(workspace=self.workspace.config, run_id=run._backend_id,
                                      model_uri=settings.model)
        NodeSpec(settings=settings.to_extra(), output_path=output_path,
                 user_args=resolve_arguments(self.step, ports, self.parameters),
                 env=step_environment(self.step, ports, self.parameters),
                 processes=settings.process_count_per_node or os.cpu_count() or 1, reuse_key=key,
                 outputs={n: {"datastore": d, "path": p} for n, (d, p) in outputs.items()}).write(self.work_dir)
        print(f"Step [{self.step.task_id}]: {count} mini-batches on {settings.node_count} node(s) x "
              f"{settings.process_count_per_node or os.cpu_count()} process(es); work folder {self.work_dir}",
              flush=True)
        return {"nodes": list(range(settings.node_count)), "work_dir": self.work_dir, "run_id": run._backend_id}

    def _output_folder(self, outputs: dict[str, tuple[str, str]]) -> str | None:
        """Where workers write the output: in place on a local datastore, else the work folder (uploaded)."""
        if not outputs:
            return None
        datastore, path = next(iter(outputs.values()))
        local = Datastore(self.workspace, datastore).backend.local_path(path)
        return local or os.path.join(self.work_dir, "output")

    # --- main inputs on S3: listed, not copied (parallel_inputs.py) -------------------------

    def _listed(self) -> dict[str, parallel_inputs.Entries]:
        if not hasattr(self, "_listings"):
            self._listings: dict[str, parallel_inputs.Entries] = {}
        return self._listings

    def _is_main(self, name: str) -> bool:
        return name in ParallelSettings.from_extra(self.step.extra).inputs

    def _upstream_view(self, stack: ExitStack, name: str, location: dict[str, str]) -> str:
        backend = Datastore(self.workspace, location["datastore"]).backend
        if self._is_main(name) and parallel_inputs.streamable(backend):
            self._listed()[name] = parallel_inputs.location_entries(location["datastore"], backend, location["path"])
            return backend.uri(location["path"])
        return super()._upstream_view(stack, name, location)

    def _dataset_view(self, stack: ExitStack, name: str, dataset: Any, mode: str) -> str:
        found = parallel_inputs.dataset_entries(dataset, self.workspace.config) if self._is_main(name) else None
        if found is None:
            return super()._dataset_view(stack, name, dataset, mode)
        uri, self._listed()[name] = found
        return uri

    def _main_files(self, settings: ParallelSettings, inputs: dict[str, str]) -> Iterator[Any]:
        """Every file of the main inputs, in a stable order (the manifest's order is the output's):
        local paths, and S3 objects streamed from their listing."""
        for name in settings.inputs:
            if name in self._listed():
                yield from self._listed()[name]()
            elif name in inputs:
                yield from _walk(inputs[name])
            else:  # a direct-mode dataset (tabular, or partitioned files): its own file list
                yield from self._dataset_files(name)

    def _dataset_files(self, name: str) -> Iterator[Any]:
        inp = next(i for i in self.step.inputs if i.name == name)
        source = input_location(self.step, inp, self.parameters)
        if source is None or source.get("type") != "dataset":
            raise StepFailed(f"Step [{self.step.task_id}]: input {name!r} has no files to split into mini-batches")
        dataset = self._dataset(source)
        listed = parallel_inputs.dataset_entries(dataset, self.workspace.config)
        if listed is not None:
            yield from listed[1]()
            return
        found = []
        for file in dataset._files():
            local = file.local
            if local is None:
                target = os.path.join(self.work_dir, "inputs", name, file.relative)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with file.backend.open(file.path) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                local = target
            found.append(local)
        yield from found

    # --- nodes ---------------------------------------------------------------------------

    def run_node(self, run: Run, work_dir: str, node: int, stream: IO[str] | None = None,
                 on_start: Callable[[Any], None] | None = None) -> None:
        """Run the driver for one node as the step's subprocess; raises `StepFailed` if it stopped the step."""
        from ..launcher import child_env, upload_attempt_log
        from ..processes import Process, run_processes

        spec = NodeSpec.read(work_dir)
        argv = [self._interpreter(), "-m", "aml_bridge.parallel.node", work_dir, str(node)]
        # S3 connections the workers read their mini-batches with: a private file, never the keys
        with self._credentials({}) as credentials, tempfile.TemporaryDirectory(prefix="aml-node-") as tmp:
            env = child_env(run, argv, work_dir, {**spec.env, **credentials, "AML_BRIDGE_NODE_ID": str(node)},
                            step=self.step)
            log_path = os.path.join(tmp, "std_log.txt")
            reporter = _ProgressReporter(run, work_dir)
            reporter.start()
            try:
                outcome = run_processes([Process(argv, env, log_path)], work_dir, stream or sys.stdout,
                                        forward_signals=False, on_start=on_start)
            finally:
                reporter.stop()
                upload_attempt_log(run, log_path, NODE_LOG.format(node=node))
        if outcome.returncode != 0:
            result = read_node_result(work_dir, node)
            if result is not None and result.reason:
                raise StepStopped(f"Step [{self.step.task_id}] stopped on node {node}: {result.reason}")
            why = "".join(outcome.stderr_tail[-5:]).strip()
            raise StepFailed(f"Step [{self.step.task_id}] node {node} failed (exit code {outcome.returncode}): {why}")

    def _interpreter(self) -> str:
        """The step environment's Python (its venv, built once per requirement set), as for script steps."""
        from ..train.environments import interpreter_for

        environment = (self.step.runconfig or {}).get("environment")
        return interpreter_for(environment, self.workspace.config.home) if environment else sys.executable

    # --- gather ---------------------------------------------------------------------------

    def gather(self, prepared: dict[str, Any]) -> StepResult:
        """Concatenate the output, judge the thresholds, publish, and end the step run."""
        if prepared.get("reused"):
            return StepResult(**prepared["reused"])
        run = self.find_run()
        if run is None:
            raise StepFailed(f"Step [{self.step.task_id}]: its run is gone")
        work_dir = prepared["work_dir"]
        spec = NodeSpec.read(work_dir)
        nodes = [r for r in (read_node_result(work_dir, n) for n in prepared["nodes"]) if r is not None]
        summary = summarise(spec.parallel, work_dir, spec.output_path, nodes)
        self._report(run, work_dir, summary)
        if summary.status != "Completed":
            message = failure_message(self.step.task_id, summary)
            run._set_status("Failed", error_response(message, "UserError"))
            raise StepFailed(message)
        self._publish(spec)
        run._write(tags={TAG_OUTPUTS: json.dumps(spec.outputs), **({TAG_REUSE_KEY: spec.reuse_key}
                                                                    if spec.reuse_key else {})})
        run._set_status("Completed")
        return StepResult(run._backend_id, run.id, spec.outputs, spec.reuse_key)

    def _report(self, run: Run, work_dir: str, summary: Summary) -> None:
        """Final metrics, `logs/job_result.txt`, the errors and the entry scripts' logs on the step run."""
        from ..launcher import upload_new

        final = progress_mod.collect(work_dir, summary.total)
        final.succeeded_items, final.failed_items = summary.succeeded_items, summary.failed_items
        final.items_per_second = summary.items_per_second
        for name, value in final.metrics().items():
            run.log(name, value)
        run.flush()
        logs = os.path.join(work_dir, "logs")
        os.makedirs(logs, exist_ok=True)
        with open(os.path.join(logs, "job_result.txt"), "w") as fh:
            fh.write(result_text(summary))
        errors = os.path.join(work_dir, "errors.txt")
        if os.path.exists(errors):
            os.makedirs(os.path.join(logs, "user"), exist_ok=True)
            os.replace(errors, os.path.join(logs, "user", "error.txt"))
        upload_new(run, logs, "logs")
        print(result_text(summary), flush=True)

    def _publish(self, spec: NodeSpec) -> None:
        """A non-local output datastore gets the work folder's output after success."""
        for location in spec.outputs.values():
            backend = Datastore(self.workspace, location["datastore"]).backend
            if backend.local_path(location["path"]) is None and spec.output_path and os.path.isdir(spec.output_path):
                backend.upload_dir(spec.output_path, location["path"], overwrite=True)


def read_node_result(work_dir: str, node: int) -> NodeResult | None:
    try:
        with open(os.path.join(work_dir, "nodes", f"{node}.json")) as fh:
            return NodeResult(**json.load(fh))
    except (FileNotFoundError, ValueError):
        return None


def write_node_result(work_dir: str, node: str, result: NodeResult) -> None:
    folder = os.path.join(work_dir, "nodes")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{node}.json")
    with open(f"{path}.tmp", "w") as fh:
        json.dump(asdict(result), fh)
    os.replace(f"{path}.tmp", path)


def result_text(summary: Summary) -> str:
    """Azure's `job_result.txt`, in words: the outcome, the counts, why it failed and where to look."""
    lines = [f"Step status: {summary.status}",
             f"Mini-batches: {summary.total} total, {summary.done} succeeded, {summary.failed} failed",
             f"Items: {summary.succeeded_items} succeeded, {summary.failed_items} failed "
             f"({summary.items_per_second} items/s over {summary.seconds} s)"]
    if summary.reason:
        lines.append(f"Reason: {summary.reason}")
    for batch, error in list(summary.failed_mini_batches.items())[:20]:
        lines.append(f"  mini-batch {batch}: {error}")
    if len(summary.failed_mini_batches) > 20:
        lines.append(f"  ... and {len(summary.failed_mini_batches) - 20} more")
    if summary.failed_mini_batches or summary.init_failures:
        lines.append("Stack traces: logs/user/error.txt; entry script logs: logs/user/entry_script_log/")
    if summary.output_file:
        lines.append(f"Output: {summary.output_file}")
    return "\n".join(lines) + "\n"


def failure_message(task_id: str, summary: Summary) -> str:
    failed = sorted(summary.failed_mini_batches)
    which = f"; failed mini-batches {failed[:10]}{' ...' if len(failed) > 10 else ''}" if failed else ""
    return f"Step [{task_id}] failed: {summary.reason}{which} (details in logs/job_result.txt)"


class _ProgressReporter:
    """While a node runs, log the step's progress as metrics on the step run every interval."""

    def __init__(self, run: Run, work_dir: str) -> None:
        self.run, self.work_dir = run, work_dir
        self.total = len(manifest.read(manifest_path(work_dir)))  # read once, not every interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="aml-bridge-progress", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)
        self._log()

    def _loop(self) -> None:
        while not self.stopped.wait(progress_mod.interval()):
            self._log()

    def _log(self) -> None:
        try:
            for name, value in progress_mod.collect(self.work_dir, self.total).metrics().items():
                self.run.log(name, value)
            self.run.flush()
        except Exception as exc:  # noqa: BLE001 - progress is best effort; the gather logs the truth
            print(f"[aml-bridge] progress metrics not logged: {exc}", flush=True)


def _walk(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    found = []
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        found += [os.path.join(folder, n) for n in sorted(names)]
    return found


__all__ = ["NodeSpec", "ParallelStepExecution", "StepStopped", "failure_message", "read_node_result", "result_text",
           "work_dir_of", "write_node_result"]
