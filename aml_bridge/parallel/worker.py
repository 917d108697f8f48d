"""One worker process: import the entry script, `init()` once, claim mini-batches from the ledger,
`run()` each, record its outcome and output lines in the ledger, `shutdown()` at the end.

The worker never enforces the timeout itself: a `run()` stuck in C code ignores signals and
threads, so the supervising parent (driver.py) kills the whole process and starts a new one.
A claim in the ledger is the attempt in flight, so whoever ends a killed attempt counts it.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import manifest
from .ledger import Ledger
from .loader import mini_batch_data

IDLE_FIRST, IDLE_MAX = 0.0005, 0.05  # seconds between looks at mini-batches in flight elsewhere


@dataclass
class WorkerSpec:
    """Everything a worker needs, picklable so `spawn` works as well as `fork`."""

    entry_script: str
    argv: list[str]
    env: dict[str, str]
    manifest_path: str
    ledger_root: str
    session: str
    supervisor_pid: int
    work_dir: str
    run_max_try: int
    append_row: bool
    compat_path: str
    extra_sys_path: list[str] = field(default_factory=list)
    slot: int = 0    # this worker's place among all workers of the step (nodes x processes) ...
    slots: int = 1   # ... so each starts claiming at its own offset and they rarely contend


@dataclass
class MiniBatchContext:
    """The second argument of `run(mini_batch, mini_batch_context)`."""

    minibatch_index: int
    partition_key_value: dict[str, Any] | None = None
    dataset: Any = None


def format_lines(result: Any) -> str:
    """Azure's append_row format: `str(item)` per line; DataFrame rows space-separated, no header/index."""
    if hasattr(result, "to_csv"):
        from .lines import frame_lines

        return frame_lines(result)
    return "".join(f"{item}\n" for item in result)


def import_entry_script(path: str) -> ModuleType:
    """Import the script as a module named after its file, with its folder first on `sys.path`."""
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import entry script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def libc() -> Any:
    """libc through ctypes, or None. The supervisor loads it before forking: importing ctypes in
    every new worker would cost each ~7 ms."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the supervisor dies, so no orphan keeps claims of a dead session."""
    import signal

    lib = libc()
    if lib is not None and hasattr(lib, "prctl"):
        lib.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _prepare(spec: WorkerSpec) -> None:
    _die_with_parent()
    os.environ.update(spec.env)
    for path in [spec.compat_path, *spec.extra_sys_path]:
        if path not in sys.path:
            sys.path.insert(0, path)
    loaded = sys.modules.get("azureml_user.parallel_run")
    if loaded is not None:
        loaded.EntryScript._reset()
    folder = os.path.join(spec.work_dir, "workers", spec.env.get("AML_BRIDGE_AGENT_NAME", str(os.getpid())))
    os.makedirs(folder, exist_ok=True)
    os.chdir(folder)
    sys.argv = [spec.entry_script, *spec.argv]


# A worker's status, shared with its supervisor (a RawArray of doubles, written only by the worker):
# the attempt in flight (batch id or -1, and when it started) and running counts of finished
# mini-batches. Per mini-batch the supervisor is told nothing: it reads these every poll, so a
# mini-batch costs no message and no wake-up of the supervisor.
BATCH, STARTED, OK, FAILED_BATCHES, FAILED_ITEMS, SUCCEEDED_ITEMS = range(6)
STATUS_SIZE = 6


class Worker:
    """The claim/run loop of one process; `send` reports the rare events to the supervisor (a pipe
    end), `status` (see BATCH...) the frequent ones."""

    def __init__(self, spec: WorkerSpec, send: Any, stop: Any, status: Any = None) -> None:
        self.spec, self.send, self.stop = spec, send, stop
        self.status = status if status is not None else [-1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        self.ledger = Ledger(spec.ledger_root, session=spec.session, supervisor_pid=spec.supervisor_pid)
        self.batches = {b["id"]: b for b in manifest.read(spec.manifest_path)}
        self.module: ModuleType | None = None

    @staticmethod
    @functools.cache
    def _takes_context(run: Any) -> bool:
        """`run(mini_batch, mini_batch_context)`? Asked once, not per mini-batch."""
        return len(inspect.signature(run).parameters) >= 2

    def start(self) -> None:
        self.module = import_entry_script(self.spec.entry_script)
        if callable(getattr(self.module, "init", None)):
            self.module.init()
        self.send(("ready", os.getpid()))

    def order(self) -> list[int]:
        """Every mini-batch once, starting at this worker's share: workers meet only at the end."""
        ids = sorted(self.batches)
        start = len(ids) * (self.spec.slot % self.spec.slots) // max(self.spec.slots, 1)
        return ids[start:] + ids[:start]

    def loop(self) -> None:
        """Claim and run until every mini-batch is finished. Mini-batches in flight elsewhere are waited
        for (their holder may die, and its session's loss is then this worker's to take over), polling
        with a backoff: the last few finish within a fraction of a millisecond of being seen, and a
        long wait costs nothing."""
        pending = deque(self.order())
        pid = os.getpid()
        own_share = True  # until another worker's mini-batch shows up, skip the "already done?" look
        idle = IDLE_FIRST
        while pending and not self.stop.is_set():
            claimed = False
            for _ in range(len(pending)):
                if self.stop.is_set():
                    break
                batch_id = pending.popleft()
                if self.ledger.claim(batch_id, pid, look_first=not own_share):  # False also when done
                    claimed = True
                    if self.process(batch_id):
                        continue
                else:
                    own_share = False
                    if self.ledger.is_done(batch_id):
                        continue
                pending.append(batch_id)  # in flight elsewhere, or released for another try
            if claimed:
                idle = IDLE_FIRST
            elif pending:
                time.sleep(idle)
                idle = min(idle * 2, IDLE_MAX)

    def finish(self) -> None:
        if self.module is not None and callable(getattr(self.module, "shutdown", None)):
            self.module.shutdown()

    def process(self, batch_id: int) -> bool:
        """One attempt at a claimed mini-batch; True when it is finished (succeeded or out of tries)."""
        state = self.ledger.state(batch_id)
        if state["attempts"] >= self.spec.run_max_try:
            self._give_up(batch_id, state["attempts"], "; ".join(state["errors"][-1:]) or "no tries left")
            return True
        attempt = state["attempts"] + 1
        started = time.time()
        self.status[STARTED] = started  # before the id: a reader that sees the id sees its start
        self.status[BATCH] = batch_id
        try:
            outcome, text = self._run(batch_id, attempt)
        except Exception as exc:  # noqa: BLE001 - any user error fails the attempt, as on Azure
            return self._failed_attempt(batch_id, attempt, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        outcome["seconds"] = round(time.time() - started, 6)
        self.ledger.finish(batch_id, outcome, text)
        self._ended(outcome)
        return True

    def _run(self, batch_id: int, attempt: int) -> tuple[dict[str, Any], str]:
        batch = self.batches[batch_id]
        run = self.module.run  # type: ignore[union-attr]
        with mini_batch_data(batch) as data:  # S3 files: fetched for this mini-batch, removed after it
            if self._takes_context(run):
                result = run(data, MiniBatchContext(batch_id, batch.get("partition_key_value")))
            else:
                result = run(data)
        if result is None or not hasattr(result, "__len__") or isinstance(result, (str, bytes, dict)):
            raise TypeError(f"run() must return a list, tuple or DataFrame, got {type(result).__name__}")
        items, returned = len(data), len(result)
        text = format_lines(result) if self.spec.append_row else ""
        return {"status": "ok", "items": items, "succeeded": min(returned, items),
                "failed_items": max(items - returned, 0), "attempts": attempt, "error": None,
                "agent": os.environ.get("AML_BRIDGE_AGENT_NAME")}, text

    def _failed_attempt(self, batch_id: int, attempt: int, error: str, trace: str) -> bool:
        self.ledger.fail_attempt(batch_id, error)
        with open(os.path.join(self.spec.work_dir, "errors.txt"), "a") as fh:
            fh.write(f"mini-batch {batch_id} attempt {attempt}: {trace}\n")
        if attempt >= self.spec.run_max_try:
            self._give_up(batch_id, attempt, error)
            return True
        self.ledger.release(batch_id)
        self.status[BATCH] = -1
        return False

    def _give_up(self, batch_id: int, attempts: int, error: str) -> None:
        outcome = failed_outcome(len_of(self.batches[batch_id]), attempts, error)
        self.ledger.finish(batch_id, outcome)
        self._ended(outcome)

    def _ended(self, outcome: dict[str, Any]) -> None:
        status = self.status
        status[BATCH] = -1
        status[FAILED_BATCHES if outcome["status"] == "failed" else OK] += 1
        status[FAILED_ITEMS] += outcome["failed_items"]
        status[SUCCEEDED_ITEMS] += outcome["succeeded"]


def len_of(batch: dict[str, Any]) -> int:
    """Items a failed mini-batch counts as failed: files, or rows (reading a tabular chunk again)."""
    if "chunks" in batch or "partition_key_value" in batch:
        try:
            return len(manifest.load(batch))
        except Exception:  # noqa: BLE001 - unreadable input still fails at least one item
            return 1
    return len(batch["files"])


def failed_outcome(items: int, attempts: int, error: str) -> dict[str, Any]:
    return {"status": "failed", "items": items, "succeeded": 0, "failed_items": items,
            "attempts": attempts, "error": error, "agent": os.environ.get("AML_BRIDGE_AGENT_NAME")}


def main(spec: WorkerSpec, conn: Any, stop: Any, status: Any = None) -> None:
    """The child process's entry point (a `multiprocessing.Process` target)."""
    _prepare(spec)
    worker = Worker(spec, conn.send, stop, status)
    try:
        worker.start()
    except BaseException:
        conn.send(("init_failed", traceback.format_exc()))
        raise SystemExit(3) from None
    worker.loop()
    worker.finish()
    _flush_metrics()
    conn.send(("exit", os.getpid()))


def _flush_metrics() -> None:
    """`run.log` calls of the entry script: a forked worker ends by `os._exit`, so atexit never runs."""
    writer = sys.modules.get("aml_bridge.writer")
    if writer is not None:
        writer.flush_all()


__all__ = ["MiniBatchContext", "WorkerSpec", "failed_outcome", "format_lines", "import_entry_script", "main"]
