"""The per-process metric writer: `run.log` appends, a thread sends batches through `aml_log_batch`.

`run.log` in a hot loop must not pay a round trip (ARCHITECTURE §5), so a call is one deque
append. A daemon thread drains the queues every `AML_BRIDGE_FLUSH_INTERVAL` seconds or when a
queue holds `AML_BRIDGE_FLUSH_SIZE` records. `flush()`, interpreter exit and SIGTERM drain
synchronously, so nothing logged before a clean exit or a kill by SIGTERM is lost.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
from collections import deque
from typing import Any

from . import settings
from .plugins import hooks
from .records import Metric
from .settings import WorkspaceConfig

log = logging.getLogger(__name__)
Key = tuple[WorkspaceConfig, str]


class Writer:
    """Queues of typed records, one per (workspace, run), drained in batches."""

    def __init__(self) -> None:
        self.flush_size = settings.AML_BRIDGE_FLUSH_SIZE.get_int()
        self.interval = settings.AML_BRIDGE_FLUSH_INTERVAL.get_float()
        self._queues: dict[Key, deque[Metric]] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def queue(self, workspace: WorkspaceConfig, run_id: str) -> deque[Metric]:
        """The deque a run appends to; appends need no lock (deque appends are atomic)."""
        key = (workspace, run_id)
        found = self._queues.get(key)
        if found is None:
            with self._lock:
                found = self._queues.setdefault(key, deque())
                self._start_thread()
        return found

    def notify(self) -> None:
        """Wake the flusher early (a queue reached the flush size)."""
        self._wake.set()

    def flush(self, workspace: WorkspaceConfig | None = None, run_id: str | None = None) -> None:
        """Send everything queued (for one run, or all) and return once it is stored."""
        with self._lock:
            keys = [(workspace, run_id)] if run_id is not None and workspace is not None else list(self._queues)
            for key in keys:
                self._drain(key)

    def _drain(self, key: Key) -> None:
        queue = self._queues.get(key)
        if not queue:
            return
        batch = [queue.popleft() for _ in range(len(queue))]
        try:
            hooks.aml_log_batch(workspace=key[0], run_id=key[1], metrics=batch, tags={}, properties={})
        except BaseException:
            queue.extendleft(reversed(batch))  # keep them for the next attempt
            raise

    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="aml-bridge-writer", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the next flush retries; explicit flush() raises to the caller
                log.warning("aml-bridge: background metric flush failed; will retry", exc_info=True)


_writer: Writer | None = None
_writer_lock = threading.Lock()


def get_writer() -> Writer:
    global _writer
    if _writer is None:
        with _writer_lock:
            if _writer is None:
                _writer = Writer()
                _install_exit_handlers()
    return _writer


def flush_all() -> None:
    if _writer is not None:
        _writer.flush()


def _at_exit() -> None:
    try:
        flush_all()
    except Exception:
        log.exception("aml-bridge: metrics could not be stored at exit")


def _on_sigterm(signum: int, frame: Any) -> None:
    _at_exit()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_exit_handlers() -> None:
    # Flush before thread pools refuse work at interpreter exit: MLflow's S3 artifact repository
    # uploads through s3transfer's threads. threading's exit hooks run last-registered first, so
    # importing concurrent.futures.thread first puts this flush ahead of its shutdown flag.
    import concurrent.futures.thread  # noqa: F401

    getattr(threading, "_register_atexit", atexit.register)(_at_exit)
    if threading.current_thread() is not threading.main_thread():
        return
    # Only where nobody else handles SIGTERM: Airflow's task runner has its own handler.
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _forget_after_fork() -> None:
    """A forked child starts with no queues: the parent's records are the parent's to send."""
    global _writer
    _writer = None


os.register_at_fork(after_in_child=_forget_after_fork)

__all__ = ["Writer", "flush_all", "get_writer"]
