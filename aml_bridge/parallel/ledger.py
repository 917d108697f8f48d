"""The ledger of a parallel step's mini-batches, shared by the worker processes of every node.

A mini-batch costs no file creation and no directory operation (on ext4 each one cost a worker
~0.3–0.7 ms while others did the same, more than a trivial `run()`; bench/parallel.py):

* `board`: one 16-byte record per mini-batch (status, failed attempts, holder pid, holder session),
  read and written in place with pread/pwrite. Its byte `id` also carries a POSIX record lock
  (`fcntl.lockf`): the lock *is* the claim. The kernel (or NFS lock manager) drops the locks of a
  process that dies, so a killed worker never leaves a claim behind; its record still says
  "in flight", which is how the next holder learns an attempt was lost.
* `journal.<session>-<pid>`: each process appends every finished mini-batch there, a JSON outcome
  line then its output lines, in one write, before the board says done. A record torn by a crash is
  ignored; a mini-batch finished twice (a crash between the two writes) is gathered once.
* `state/<id>` (failed attempts and their errors, only on failure) and `session.<digest>` (who a
  supervisor is, written once; its mtime is the heartbeat) stay small files: they are the rare path.
  Every file sits in the ledger folder itself, so the common path creates no folder either.

An attempt lost by a worker of a live session is counted by that session's supervisor; one lost
with its whole session (same host and the supervisor pid is dead, or its heartbeat is older than
`lease`) is counted by whoever claims the mini-batch next.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import struct
import time
import uuid
from typing import Any

HOST = socket.gethostname()
FREE, IN_FLIGHT, OK, FAILED = 0, 1, 2, 3
_RECORD = struct.Struct("<BxHI8s")  # status, failed attempts, holder pid, holder session digest
_BUSY = (errno.EAGAIN, errno.EACCES)
# One descriptor per file per process: closing *any* descriptor of a file drops all of the
# process's record locks on it, so the board is opened once and never closed.
_FDS: dict[tuple[int, str], int] = {}


def _fd(path: str, flags: int) -> int:
    key = (os.getpid(), path)
    if key not in _FDS:
        _FDS[key] = os.open(path, flags | os.O_CREAT, 0o644)
    return _FDS[key]


def _digest(session: str) -> bytes:
    return hashlib.blake2b(session.encode(), digest_size=8).digest()


def _write_atomic(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(json.dumps(data))
    os.replace(tmp, path)


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as fh:
            return json.loads(fh.read())
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """One step's ledger; `session` identifies the supervisor (one per `run_parallel` call)."""

    def __init__(self, root: str, session: str | None = None, supervisor_pid: int | None = None,
                 lease: float = 60.0) -> None:
        self.root = root
        self.session = session or uuid.uuid4().hex
        self.supervisor_pid = supervisor_pid or os.getpid()
        self.lease = lease
        self._me = _digest(self.session)
        os.makedirs(root, exist_ok=True)
        self._board_path = os.path.join(root, "board")

    # -- the board -------------------------------------------------------------------------
    @property
    def _board(self) -> int:
        return _fd(self._board_path, os.O_RDWR)

    def _record(self, batch_id: int) -> tuple[int, int, int, bytes]:
        raw = os.pread(self._board, _RECORD.size, batch_id * _RECORD.size)
        return _RECORD.unpack(raw) if len(raw) == _RECORD.size else (FREE, 0, 0, b"")

    def _set(self, batch_id: int, status: int, attempts: int, pid: int = 0, session: bytes = b"") -> None:
        os.pwrite(self._board, _RECORD.pack(status, attempts, pid, session), batch_id * _RECORD.size)

    def _lock(self, batch_id: int, wait: bool = False) -> bool:
        try:
            fcntl.lockf(self._board, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB), 1, batch_id)
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise
        return True

    def _unlock(self, batch_id: int) -> None:
        fcntl.lockf(self._board, fcntl.LOCK_UN, 1, batch_id)

    def statuses(self) -> bytes:
        """Every mini-batch's status byte, in id order (short: the ids past the end are FREE)."""
        size = os.fstat(self._board).st_size
        return os.pread(self._board, size, 0)[::_RECORD.size] if size else b""

    # -- sessions ----------------------------------------------------------------------------
    @property
    def heartbeat_file(self) -> str:
        """Where this session's heartbeat is (named by its digest, which the board records)."""
        return self._session_path(self._me)

    def heartbeat(self) -> None:
        """Say this session is alive (the supervisor calls it while it waits): the first call writes who
        it is, later ones only touch the file (no file created, nothing a reader could see half-written)."""
        try:
            os.utime(self.heartbeat_file)
        except FileNotFoundError:
            _write_atomic(self.heartbeat_file, {"session": self.session, "host": HOST, "pid": self.supervisor_pid})

    def _session_path(self, digest: bytes) -> str:
        return os.path.join(self.root, f"session.{digest.hex()}")

    def _gone(self, digest: bytes) -> str | None:
        """Why the session holding a lost attempt is gone, or None while it is alive (it counts the loss)."""
        path = self._session_path(digest)
        info = _read_json(path)
        try:
            beat = os.stat(path).st_mtime
        except FileNotFoundError:
            info = None
        if info is None:
            return f"its worker's session {digest.hex()} is gone"
        if info["host"] == HOST and not pid_alive(info["pid"]):
            return f"its worker's session {info['session']} on {info['host']} is gone"
        if time.time() - beat > self.lease:
            return f"its worker's session {info['session']} on {info['host']} is gone (no heartbeat for {self.lease}s)"
        return None

    # -- claims ------------------------------------------------------------------------------
    def claim(self, batch_id: int, worker_pid: int, look_first: bool = True) -> bool:
        """Own `batch_id` unless it is finished or held by a live process.

        `look_first=False` skips the status check before taking the lock (the one after it is what
        makes the claim safe); a worker passes it while it is in its own share.
        """
        if look_first and self._record(batch_id)[0] >= OK:
            return False
        if not self._lock(batch_id):
            return False
        status, attempts, _, holder = self._record(batch_id)
        if status == IN_FLIGHT:  # its holder died mid-attempt
            why = None if holder == self._me else self._gone(holder)
            if why is None:  # that session's supervisor counts the lost attempt
                self._unlock(batch_id)
                return False
            attempts = self.fail_attempt(batch_id, why)
        elif status >= OK:
            self._unlock(batch_id)
            return False
        self._set(batch_id, IN_FLIGHT, attempts, worker_pid, self._me)
        return True

    def release(self, batch_id: int) -> None:
        """Give a claim back so the mini-batch is re-queued."""
        self._set(batch_id, FREE, self._record(batch_id)[1])
        self._unlock(batch_id)

    def claims_of(self, worker_pid: int) -> list[int]:
        """The mini-batches a (dead) worker of this session was running."""
        board = os.pread(self._board, os.fstat(self._board).st_size, 0)
        held = []
        for batch_id, (status, _, pid, holder) in enumerate(_RECORD.iter_unpack(board[:len(board) // _RECORD.size * _RECORD.size])):
            if status == IN_FLIGHT and pid == worker_pid and holder == self._me:
                held.append(batch_id)
        return held

    def take_over(self, batch_id: int) -> None:
        """Hold `batch_id` (waiting for a transient holder) to end the attempt a dead worker lost."""
        self._lock(batch_id, wait=True)

    # -- attempts and outcomes -----------------------------------------------------------------
    def state(self, batch_id: int) -> dict[str, Any]:
        """`attempts` that failed so far and their last `errors`."""
        if self._record(batch_id)[1] == 0:
            return {"attempts": 0, "errors": []}
        return _read_json(self._state_path(batch_id)) or {"attempts": 0, "errors": []}

    def _state_path(self, batch_id: int) -> str:
        return os.path.join(self.root, "state", str(batch_id))

    def fail_attempt(self, batch_id: int, error: str) -> int:
        """Count a failed attempt (by the claim's holder or whoever ends it); returns the failures so far."""
        state = _read_json(self._state_path(batch_id)) or {"attempts": 0, "errors": []}
        state["attempts"] += 1
        state["errors"] = [*state["errors"], error][-5:]
        os.makedirs(os.path.dirname(self._state_path(batch_id)), exist_ok=True)
        _write_atomic(self._state_path(batch_id), state)
        status, _, pid, holder = self._record(batch_id)
        self._set(batch_id, status, min(state["attempts"], 0xFFFF), pid, holder)
        return state["attempts"]

    def finish(self, batch_id: int, outcome: dict[str, Any], text: str = "") -> None:
        """Append the outcome and output lines to this process's journal, then mark the mini-batch
        finished and drop the claim: a crash before the mark re-runs it, and gathering keeps one."""
        body = text.encode()
        head = {**outcome, "id": batch_id, "bytes": len(body), "ended": time.time(),
                "session": self.session, "worker": os.getpid(), "host": HOST}
        record = memoryview(json.dumps(head).encode() + b"\n" + body)
        journal = _fd(os.path.join(self.root, f"journal.{self.session}-{os.getpid()}"), os.O_WRONLY | os.O_APPEND)
        while record:
            record = record[os.write(journal, record):]
        current, attempts, _, _ = self._record(batch_id)
        status = FAILED if outcome.get("status") == "failed" and current != OK else OK  # as `entries` keeps
        self._set(batch_id, status, attempts)
        self._unlock(batch_id)

    def entries(self) -> dict[int, tuple[dict[str, Any], str]]:
        """Every finished mini-batch's outcome and output lines, read from all journals once.

        A mini-batch journaled twice keeps a succeeded record over a failed one."""
        found: dict[int, tuple[dict[str, Any], str]] = {}
        for name in sorted(os.listdir(self.root)):
            if not name.startswith("journal."):
                continue
            for outcome, text in _journal(os.path.join(self.root, name)):
                kept = found.get(outcome["id"])
                if kept is None or (kept[0].get("status") == "failed" and outcome.get("status") != "failed"):
                    found[outcome["id"]] = (outcome, text)
        return found

    def entry(self, batch_id: int) -> tuple[dict[str, Any], str] | None:
        """One finished mini-batch's outcome and output lines; None while unfinished."""
        return self.entries().get(batch_id)

    def is_done(self, batch_id: int) -> bool:
        return self._record(batch_id)[0] >= OK

    def outcome(self, batch_id: int) -> dict[str, Any] | None:
        entry = self.entry(batch_id)
        return entry[0] if entry else None

    def counts(self) -> tuple[int, int]:
        """(finished, failed) mini-batches, from the board alone: cheap enough to poll."""
        statuses = self.statuses()
        return statuses.count(OK) + statuses.count(FAILED), statuses.count(FAILED)

    def outcomes(self) -> dict[int, dict[str, Any]]:
        """Every finished mini-batch's outcome, by id."""
        return {batch_id: outcome for batch_id, (outcome, _) in self.entries().items()}


def _journal(path: str) -> list[tuple[dict[str, Any], str]]:
    """The complete records of one journal; a torn last record (its writer died) is left out."""
    with open(path, "rb") as fh:
        data = fh.read()
    records, at = [], 0
    while at < len(data):
        end = data.find(b"\n", at)
        if end < 0:
            break
        try:
            head = json.loads(data[at:end])
        except ValueError:
            break
        body = data[end + 1:end + 1 + head["bytes"]]
        if len(body) < head["bytes"]:
            break
        records.append((head, body.decode()))
        at = end + 1 + head["bytes"]
    return records


__all__ = ["Ledger", "pid_alive"]
