"""Run a job's processes: one, or one per rank, each in its own process group.

Output is copied line by line into each process's log file (and, for the processes that echo,
to the caller's stream). SIGTERM/SIGINT to the caller reach every group; a job past its time
limit, or whose other rank failed, gets SIGTERM (so its writer flushes) and SIGKILL after the
grace period. The first process that fails decides the outcome, as `torchrun` and `mpirun` do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

TAIL_LINES = 30
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# After a SIGTERM the job gets this long to flush and exit before its group is killed.
KILL_GRACE_SECONDS = 60.0
POLL_SECONDS = 0.2


@dataclass
class Process:
    """One process of a job: its argv, environment, log file, and whether it echoes to the caller."""

    argv: list[str]
    env: dict[str, str]
    log_path: str
    echo: bool = True


@dataclass
class Outcome:
    """How the job ended: the deciding return code (negative: killed by that signal) and why."""

    returncode: int
    stderr_tail: list[str] = field(default_factory=list)
    forwarded: int | None = None
    timed_out: float | None = None
    error: dict[str, Any] | None = None


def run_processes(processes: list[Process], cwd: str, stream: IO[str], forward_signals: bool = True,
                  on_start: Callable[[subprocess.Popen], None] | None = None,
                  timeout: float | None = None) -> Outcome:
    """Start every process, wait for all of them, and say how the job ended."""
    group = _Group(processes, cwd, stream)
    # Forwarding is installed before the start: a signal this process ignores (SIG_IGN is inherited,
    # e.g. SIGINT under nohup or a non-interactive shell's `&`) would stay ignored by the job and never
    # stop it, while a handler is reset to the default when the job execs.
    previous = _forward(group) if forward_signals else {}
    try:
        if not group.start():
            return Outcome(127, group.start_error)
        for proc in group.procs:
            if on_start is not None:
                on_start(proc)
        group.wait(timeout)
    except BaseException:  # e.g. Airflow's task timeout: give the job its flush, then end it
        group.terminate()
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        group.close()
    return group.outcome(timeout)


class _Group:
    def __init__(self, processes: list[Process], cwd: str, stream: IO[str]) -> None:
        self.specs, self.cwd, self.stream = processes, cwd, stream
        self.procs: list[subprocess.Popen] = []
        self.tails = [deque(maxlen=TAIL_LINES) for _ in processes]
        self.lock = threading.Lock()
        self.pumps: list[threading.Thread] = []
        self.logs: list[IO[bytes]] = []
        self.start_error: list[str] = []
        self.forwarded: list[tuple[int, float]] = []
        self.stopping: float | None = None  # when SIGTERM went out (time limit or a failed rank)
        self.timed_out = False
        self.first_failure: int | None = None

    def start(self) -> bool:
        for spec, tail in zip(self.specs, self.tails):
            log = open(spec.log_path, "ab")  # noqa: SIM115 -- closed in close(), after the pumps end
            self.logs.append(log)
            try:
                proc = subprocess.Popen(spec.argv, cwd=self.cwd, env=spec.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
            except OSError as exc:
                log.write(f"{exc}\n".encode())
                self.start_error = [f"Could not start {spec.argv[0]}: {exc}"]
                self.signal(signal.SIGKILL)
                self.close()
                return False
            self.procs.append(proc)
            echo = self.stream if spec.echo else None
            self.pumps += [_pump(proc.stdout, echo, log, self.lock, None),
                           _pump(proc.stderr, echo, log, self.lock, tail)]
        return True

    def wait(self, timeout: float | None) -> None:
        started = time.monotonic()
        while None in [proc.poll() for proc in self.procs]:  # a list: every process is polled
            now = time.monotonic()
            failed = [i for i, proc in enumerate(self.procs) if proc.returncode not in (None, 0)]
            if failed and self.first_failure is None and self.stopping is None and not self.forwarded:
                self.first_failure = failed[0]
                self._stop(now)
            if timeout is not None and self.stopping is None and now - started > timeout:
                self.timed_out = True
                self._stop(now)
            since = self.stopping or (self.forwarded[0][1] if self.forwarded else None)
            if since is not None and now - since > KILL_GRACE_SECONDS:
                self.signal(signal.SIGKILL)
            time.sleep(POLL_SECONDS)
        failed = [i for i, proc in enumerate(self.procs) if proc.returncode != 0]
        if self.first_failure is None and failed:
            self.first_failure = failed[0]

    def terminate(self) -> None:
        """SIGTERM every group, SIGKILL what is still running after the grace period."""
        self.signal(signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        while any(proc.poll() is None for proc in self.procs) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        self.signal(signal.SIGKILL)
        for proc in self.procs:
            proc.wait()

    def _stop(self, now: float) -> None:
        self.stopping = now
        self.signal(signal.SIGTERM)

    def signal(self, signum: int) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        for pump in self.pumps:  # a grandchild may keep a pipe open: do not wait for it forever
            pump.join(timeout=10)
        for log in self.logs:
            log.close()

    def outcome(self, timeout: float | None) -> Outcome:
        index = self.first_failure
        code = 0 if index is None else self.procs[index].returncode
        tail = list(self.tails[index]) if index is not None else []
        return Outcome(code, tail, self.forwarded[0][0] if self.forwarded else None,
                       timeout if self.timed_out else None)


def _pump(pipe: IO[bytes] | None, stream: IO[str] | None, log_file: IO[bytes], lock: threading.Lock,
          tail: deque[str] | None) -> threading.Thread:
    def copy() -> None:
        assert pipe is not None
        for line in iter(pipe.readline, b""):
            text = line.decode(errors="replace")
            with lock:
                log_file.write(line)
                log_file.flush()
                try:
                    if stream is not None:
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


def _forward(group: _Group) -> dict[int, Any]:
    """Send SIGTERM/SIGINT on to the job's process groups (each runs in its own session)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def forward(signum: int, frame: Any) -> None:
        group.forwarded.append((signum, time.monotonic()))
        group.signal(signum)

    previous = {signum: signal.getsignal(signum) for signum in FORWARDED_SIGNALS}
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    return {s: h for s, h in previous.items() if h is not None}


__all__ = ["KILL_GRACE_SECONDS", "Outcome", "Process", "run_processes"]
