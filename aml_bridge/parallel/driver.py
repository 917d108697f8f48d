"""`run_parallel`: run a parallel step's mini-batches on N worker processes of this node and gather.

The parent supervises: it starts the workers (worker.py), kills and replaces one whose `run()`
passed `run_invocation_timeout` or that died, stops them all when a threshold is breached,
and concatenates the mini-batches' output lines in manifest order. All state lives in the ledger under
`work_dir`, so calling it again after a crash redoes only the unfinished mini-batches.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from . import manifest, progress
from . import worker as W
from .config import DEFAULT_APPEND_ROW_FILE_NAME, ParallelSettings
from .ledger import OK, Ledger
from .model_task import prepared_model
from .thresholds import Totals, breach, final_breach
from .worker import WorkerSpec, failed_outcome, len_of, libc, main

POLL = 0.05
HEARTBEAT = 1.0
STOP_FILE = "STOP"  # a node that breached a threshold writes the reason; every node stops at its next heartbeat


@dataclass
class Summary:
    """The step's outcome: what `job_result.txt` says on Azure, as data."""

    status: str
    total: int
    done: int
    failed: int
    failed_items: int
    succeeded_items: int
    items_per_second: float
    seconds: float
    reason: str | None = None
    failed_mini_batches: dict[int, str] = field(default_factory=dict)
    output_file: str | None = None
    init_failures: int = 0


@dataclass
class _Slot:
    process: Any
    conn: Any
    agent: str
    status: Any  # the worker's shared status (worker.BATCH ...)
    init_failed: bool = False

    @property
    def current(self) -> tuple[int, float] | None:
        """The attempt in flight: (mini-batch id, start time), or None."""
        batch = int(self.status[W.BATCH])
        return None if batch < 0 else (batch, self.status[W.STARTED])

    def counts(self) -> Totals:
        s = self.status
        return Totals(int(s[W.OK]), int(s[W.FAILED_BATCHES]), int(s[W.FAILED_ITEMS]), int(s[W.SUCCEEDED_ITEMS]))


def driver_argv(settings: ParallelSettings, output_path: str | None, processes: int,
                user_args: list[str]) -> list[str]:
    """The entry script's argv after the script name: driver flags (AML_API §4.2), then user arguments."""
    argv = ["--scoring_module_name", settings.entry_script,
            "--mini_batch_size", str(settings.mini_batch_size or 0),
            "--error_threshold", str(settings.error_threshold), "--output_action", settings.output_action,
            "--logging_level", settings.logging_level,
            "--run_invocation_timeout", str(settings.run_invocation_timeout),
            "--run_max_try", str(settings.run_max_try), "--create_snapshot_at_runtime", "True"]
    optional = [("--allowed_failed_count", settings.allowed_failed_count),
                ("--allowed_failed_percent", settings.allowed_failed_percent),
                ("--append_row_file_name", settings.append_row_file_name), ("--output", output_path),
                ("--process_count_per_node", processes)]
    for flag, value in optional:
        if value is not None:
            argv += [flag, str(value)]
    if settings.partition_keys:
        argv += ["--partition_keys", json.dumps(settings.partition_keys)]
    return argv + [str(a) for a in user_args]


def literal_arguments(settings: ParallelSettings) -> list[str]:
    """User arguments as strings when they need no resolving (the operator resolves ports and parameters)."""
    return [str(a["value"]) if isinstance(a, dict) else str(a) for a in settings.arguments]


class Supervisor:
    """Starts, watches and replaces the worker processes of one `run_parallel` call."""

    def __init__(self, settings: ParallelSettings, spec: WorkerSpec, batches: list[manifest.MiniBatch],
                 ledger: Ledger, processes: int, start_method: str, node: int = 0) -> None:
        self.settings, self.spec, self.ledger, self.processes = settings, spec, ledger, processes
        self.batches = {b["id"]: b for b in batches}
        self.ctx = multiprocessing.get_context(start_method)
        libc()  # loaded once here; forked workers inherit it
        self.stop = self.ctx.Event()
        self.earlier = Totals.of(ledger.outcomes().values())  # outcomes of earlier sessions
        self.recorded = Totals()  # outcomes this supervisor wrote for workers it killed or lost
        self.retired: list[_Slot] = []  # ended workers: their counts still count
        self.node = node
        self.began = time.time()
        nodes = max(int(settings.node_count or 1), node + 1)
        self.slot_count = nodes * processes
        self.slots: list[_Slot] = []
        self.started = 0
        self.init_failures = 0
        self.other_deaths = 0
        self.init_error = ""
        self.reason: str | None = None

    def _spawn(self) -> _Slot:
        agent = f"process{self.started:03d}"
        self.started += 1
        receive, send = self.ctx.Pipe(duplex=False)
        status = self.ctx.RawArray("d", W.STATUS_SIZE)
        status[W.BATCH] = -1
        env = {**self.spec.env, "AML_BRIDGE_AGENT_NAME": agent}
        slot = self.node * self.processes + (self.started - 1) % self.processes
        spec = WorkerSpec(**{**self.spec.__dict__, "env": env, "slot": slot, "slots": self.slot_count})
        # not a daemon: entry scripts may start their own process pools; PDEATHSIG reaps orphans instead
        process = self.ctx.Process(target=main, args=(spec, send, self.stop, status), name=agent)
        process.start()
        send.close()
        return _Slot(process, receive, agent, status)

    @property
    def own(self) -> Totals:
        """This session's outcomes (for the progress report)."""
        total = Totals(**vars(self.recorded))
        for slot in self.slots + self.retired:
            total.merge(slot.counts())
        return total

    @property
    def totals(self) -> Totals:
        total = self.own
        total.merge(self.earlier)
        return total

    def run(self) -> None:
        try:
            self._supervise()
        finally:
            for slot in self.slots:  # only on an error or interrupt of the supervisor itself
                slot.process.kill()
                slot.process.join()

    def _supervise(self) -> None:
        self._check_stopped_elsewhere()
        if self.stop.is_set():
            return  # another node already failed the step: start no worker
        self.slots = [self._spawn() for _ in range(self.processes)]
        beat, reported, every = time.time(), time.time(), progress.interval()  # run_node just beat
        while self.slots:
            if time.time() - beat > HEARTBEAT:
                self.ledger.heartbeat()
                self._check_stopped_elsewhere()
                beat = time.time()
            if time.time() - reported > every:
                self.report()
                reported = time.time()
            wait([s.conn for s in self.slots] + [s.process.sentinel for s in self.slots], timeout=POLL)
            for slot in list(self.slots):
                self._drain(slot)
                self._check_timeout(slot)
                if not slot.process.is_alive():
                    self._reap(slot)
            self._check_breach()

    def report(self) -> None:
        """Write this session's counts and print the step's progress line (the Airflow task log)."""
        progress.write(self.spec.work_dir, self.ledger.session, f"node{self.node}", self.began,
                       self.own.succeeded_items, self.own.failed_items)
        print(progress.collect(self.spec.work_dir, len(self.batches)).line(f"node{self.node}"), flush=True)

    def _drain(self, slot: _Slot) -> None:
        try:
            while slot.conn.poll():
                self._on_message(slot, slot.conn.recv())
        except (EOFError, OSError):
            pass

    def _on_message(self, slot: _Slot, message: tuple[Any, ...]) -> None:
        if message[0] == "init_failed":
            slot.init_failed = True
            self.init_failures += 1
            self.init_error = f"init() failed: {message[1].strip().splitlines()[-1]}"

    def _check_breach(self) -> None:
        if self.stop.is_set():
            return
        why = breach(self.settings, self.totals)
        if why:
            self._stop_step(why)

    def _stop_step(self, why: str) -> None:
        """Stop this node and tell the others (they read `STOP` at their next heartbeat)."""
        self.reason = why
        self.stop.set()
        path = os.path.join(self.spec.work_dir, STOP_FILE)
        with open(f"{path}.tmp{os.getpid()}", "w") as fh:
            fh.write(why)
        os.replace(f"{path}.tmp{os.getpid()}", path)

    def _check_stopped_elsewhere(self) -> None:
        if self.stop.is_set():
            return
        try:
            with open(os.path.join(self.spec.work_dir, STOP_FILE)) as fh:
                self.reason = fh.read()
        except FileNotFoundError:
            return
        self.stop.set()

    def _check_timeout(self, slot: _Slot) -> None:
        limit = self.settings.run_invocation_timeout
        current = slot.current  # read once: the worker changes it while we look
        if current is None or time.time() - current[1] <= limit or not slot.process.is_alive():
            return
        slot.process.kill()
        slot.process.join()
        self._drain(slot)
        self._fail_held(slot, f"run() exceeded run_invocation_timeout of {limit}s")

    def _fail_held(self, slot: _Slot, error: str) -> int:
        """The attempt a dead worker was in failed: re-queue it, or fail it when its tries are used.

        Returns how many mini-batches it held."""
        held = self.ledger.claims_of(slot.process.pid)
        for batch_id in held:
            self.ledger.take_over(batch_id)
            attempts = self.ledger.fail_attempt(batch_id, error)
            if attempts >= self.settings.run_max_try:
                outcome = failed_outcome(len_of(self.batches[batch_id]), attempts, error)
                self.ledger.finish(batch_id, outcome)
                self.recorded.add(outcome)
            else:
                self.ledger.release(batch_id)
        slot.status[W.BATCH] = -1
        return len(held)

    def _reap(self, slot: _Slot) -> None:
        self._drain(slot)
        self.slots.remove(slot)
        self.retired.append(slot)
        code = slot.process.exitcode
        if code == 0:
            return
        held = self._fail_held(slot, f"worker process {slot.agent} died (exit code {code})")
        if not held and not slot.init_failed:
            self.other_deaths += 1  # outside init() and run(): retrying cannot be charged to a mini-batch
        if self.init_failures >= 3 * self.processes and not self.stop.is_set():
            self._stop_step(f"{self.init_error}; gave up after {self.init_failures} init() failures")
        if self.other_deaths >= 3 * self.processes and not self.stop.is_set():
            self._stop_step(f"worker processes died {self.other_deaths} times outside init() and run() "
                            f"(last: {slot.agent}, exit code {code}); see its output above")
        if not self.stop.is_set() and self._work_left():
            self.slots.append(self._spawn())

    def _work_left(self) -> bool:
        statuses = self.ledger.statuses()
        return any(i >= len(statuses) or statuses[i] < OK for i in self.batches)


@dataclass
class NodeResult:
    """How one node's session ended: why it stopped the step (None: it ran out of work)."""

    reason: str | None
    init_failures: int
    seconds: float


def run_parallel(settings: ParallelSettings, mini_batches: list[manifest.MiniBatch], work_dir: str,
                 output_path: str | None, processes: int, env: dict[str, str] | None = None,
                 user_args: list[str] | None = None, start_method: str = "fork") -> Summary:
    """Run every unfinished mini-batch on `processes` workers; gather; apply the thresholds.

    The one-node form of what a pipeline step does in three tasks (`write_manifest`, `run_node`
    per node, `summarise`). Workers are forked from the caller, so call this from a process of
    its own: forking a process whose other threads hold locks (an Airflow task, a test runner
    that already ran other tests) can hang the workers.

    `work_dir` holds the manifest copy, the ledger (with each mini-batch's output lines) and the
    workers' folders; reuse it to resume.
    `env` is added to each worker's environment (run ids, `environment_variables`).
    """
    write_manifest(work_dir, mini_batches)
    node = run_node(settings, work_dir, output_path, processes, env, user_args, start_method)
    return summarise(settings, work_dir, output_path, [node])


def manifest_path(work_dir: str) -> str:
    return os.path.join(work_dir, "manifest.json")


def write_manifest(work_dir: str, mini_batches: list[manifest.MiniBatch]) -> None:
    os.makedirs(work_dir, exist_ok=True)
    manifest.write(manifest_path(work_dir), mini_batches)


def run_node(settings: ParallelSettings, work_dir: str, output_path: str | None, processes: int,
             env: dict[str, str] | None = None, user_args: list[str] | None = None, start_method: str = "fork",
             node: int = 0) -> NodeResult:
    """One node's share: workers claim unfinished mini-batches of the manifest in `work_dir` until none is left.

    Several nodes (Airflow tasks) may run this at once on one `work_dir`; the ledger gives each
    mini-batch to one of them. A model step (`settings.model`) has its model fetched, checked and
    loaded first: a signature that does not fit the input raises `ModelInputError` before any
    worker starts.
    """
    began = time.time()
    batches = manifest.read(manifest_path(work_dir))
    ledger = Ledger(os.path.join(work_dir, "ledger"))
    ledger.heartbeat()
    with prepared_model(settings, batches, work_dir, env or {}) as model_env:
        spec = _spec(settings, work_dir, output_path, processes,
                     {"AML_BRIDGE_NODE_ID": str(node), **(env or {}), **model_env}, user_args,
                     manifest_path(work_dir), ledger)
        supervisor = Supervisor(settings, spec, batches, ledger, processes, start_method, node=node)
        supervisor.run()
    supervisor.report()
    return NodeResult(supervisor.reason, supervisor.init_failures, time.time() - began)


def _spec(settings: ParallelSettings, work_dir: str, output_path: str | None, processes: int,
          env: dict[str, str], user_args: list[str] | None, manifest_path: str, ledger: Ledger) -> WorkerSpec:
    from ..compat import path as compat_path

    script = os.path.abspath(os.path.join(settings.source_directory or ".", settings.entry_script))
    base = {"AZUREML_BI_OUTPUT_PATH": output_path or os.path.join(work_dir, "output"),
            "AML_BRIDGE_BI_LOG_DIR": os.path.join(work_dir, "logs"),
            "AML_BRIDGE_ENTRY_SCRIPT_DIR": os.path.dirname(script),
            "AML_BRIDGE_LOGGING_LEVEL": settings.logging_level, **settings.environment_variables, **env}
    args = literal_arguments(settings) if user_args is None else user_args
    return WorkerSpec(entry_script=script, argv=driver_argv(settings, output_path, processes, args), env=base,
                      manifest_path=manifest_path, ledger_root=ledger.root, session=ledger.session,
                      supervisor_pid=os.getpid(), work_dir=work_dir,
                      run_max_try=settings.run_max_try, append_row=settings.output_action == "append_row",
                      compat_path=compat_path())


def gather(batches: list[manifest.MiniBatch], ledger: Ledger, target: str | None) -> dict[int, dict[str, Any]]:
    """Every finished mini-batch's outcome, reading the ledger's journals once; with a `target`, their
    output lines concatenated in manifest order, atomically (each exactly once)."""
    outcomes: dict[int, dict[str, Any]] = {}
    out = None
    if target:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        out = open(f"{target}.tmp{os.getpid()}", "w")  # noqa: SIM115 - closed below, then renamed
    entries = ledger.entries()
    try:
        for batch in batches:
            entry = entries.get(batch["id"])
            if entry is None:
                continue
            outcomes[batch["id"]] = entry[0]
            if out is not None and entry[0].get("status") == "ok":
                out.write(entry[1])
    finally:
        if out is not None:
            out.close()
    if target:
        os.replace(f"{target}.tmp{os.getpid()}", target)
    return outcomes


def summarise(settings: ParallelSettings, work_dir: str, output_path: str | None,
              nodes: list[NodeResult]) -> Summary:
    """The step's outcome from the ledger (thresholds re-judged on every mini-batch), output gathered."""
    batches = manifest.read(manifest_path(work_dir))
    ledger = Ledger(os.path.join(work_dir, "ledger"))
    output_file = None
    if settings.output_action == "append_row" and output_path:
        output_file = os.path.join(output_path, settings.append_row_file_name or DEFAULT_APPEND_ROW_FILE_NAME)
    outcomes = gather(batches, ledger, output_file)
    totals = Totals.of(outcomes.values())
    unfinished = len(batches) - len(outcomes)
    stopped = [n.reason for n in nodes if n.reason]
    reason = stopped[0] if stopped else final_breach(settings, totals, len(batches))
    if reason is None and unfinished:
        reason = f"{unfinished} mini-batches did not finish"
    failed = {i: o.get("error") or "" for i, o in sorted(outcomes.items()) if o["status"] == "failed"}
    wall = max((n.seconds for n in nodes), default=0.0) or progress.span(work_dir)
    return Summary(status="Failed" if reason else "Completed", total=len(batches),
                   done=totals.ok, failed=totals.failed_batches, failed_items=totals.failed_items,
                   succeeded_items=totals.succeeded_items,
                   items_per_second=round(totals.succeeded_items / wall, 3) if wall else 0.0,
                   seconds=round(wall, 3), reason=reason, failed_mini_batches=failed,
                   output_file=output_file, init_failures=sum(n.init_failures for n in nodes))


__all__ = ["NodeResult", "Summary", "driver_argv", "gather", "literal_arguments", "manifest_path", "run_node",
           "run_parallel", "summarise", "write_manifest"]
