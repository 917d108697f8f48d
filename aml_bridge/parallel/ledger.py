"""A file ledger of mini-batches that worker processes (and node tasks sharing a folder) claim atomically.

Layout under `root`: `claim/<id>` (created with O_CREAT|O_EXCL: exactly one owner; a claim *is*
an attempt in flight), `state/<id>` (failed attempts and their errors, written only on failure),
`done/<id>` (a JSON outcome line, then the mini-batch's output lines: one atomic rename makes
both visible), `failed/<id>` (an empty marker beside a failed outcome, so progress counts need no
reads), `session/<sid>` (an owner's heartbeat). A finished mini-batch is never claimed
again; a claim whose owning session is gone (same host and its supervisor pid is dead, or its
heartbeat is older than `lease`) is stolen by renaming it away first, which only one contender
can do, and counts as a failed attempt. Two file creations per mini-batch keep the overhead low.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import Any

HOST = socket.gethostname()


# os-level I/O: a mini-batch costs a handful of these, and Python's buffered file objects cost more
# than the system calls themselves (bench/parallel.py).
def _write_atomic(path: str, data: dict[str, Any], text: str = "") -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, (json.dumps(data) + "\n" + text).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read_all(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(fd)


def _read(path: str) -> dict[str, Any] | None:
    """The JSON first line of a ledger file."""
    text = _read_all(path)
    if text is None:
        return None
    try:
        return json.loads(text.partition("\n")[0])
    except ValueError:
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
        self._dirs = {}
        for sub in ("claim", "state", "done", "failed", "session"):
            self._dirs[sub] = os.path.join(root, sub)
            os.makedirs(self._dirs[sub], exist_ok=True)

    def _path(self, sub: str, name: Any) -> str:
        return f"{self._dirs[sub]}/{name}"

    def heartbeat(self) -> None:
        """Say this session is alive (the supervisor calls it while it waits)."""
        _write_atomic(self._path("session", self.session),
                      {"host": HOST, "pid": self.supervisor_pid, "time": time.time()})

    def _session_gone(self, session: str) -> bool:
        info = _read(self._path("session", session))
        if info is None:
            return True
        if info["host"] == HOST and not pid_alive(info["pid"]):
            return True
        return time.time() - info["time"] > self.lease

    def claim(self, batch_id: int, worker_pid: int, look_first: bool = True) -> bool:
        """Own `batch_id` unless it is done or owned by a live session.

        `look_first=False` skips the check for a finished mini-batch before creating the claim (the
        check after it is what makes the claim safe); a worker passes it while it is in its own share.
        """
        if look_first and self.is_done(batch_id):
            return False
        path = self._path("claim", batch_id)
        if self._try_create(path, worker_pid):
            return not self.is_done(batch_id) or self._drop(path)
        owner = _read(path)
        if owner is None or "session" not in owner or owner["session"] == self.session:
            return False
        if not self._session_gone(owner["session"]):
            return False
        try:
            os.rename(path, f"{path}.stale.{uuid.uuid4().hex}")
        except FileNotFoundError:
            return False
        self.fail_attempt(batch_id, f"its worker's session {owner['session']} on {owner['host']} is gone")
        return self.claim(batch_id, worker_pid)

    def _try_create(self, path: str, worker_pid: int) -> bool:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        try:
            os.write(fd, json.dumps({"session": self.session, "worker": worker_pid, "host": HOST}).encode())
        finally:
            os.close(fd)
        return True

    def _drop(self, path: str) -> bool:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return False

    def release(self, batch_id: int) -> None:
        """Give a claim back so the mini-batch is re-queued."""
        self._drop(self._path("claim", batch_id))

    def claims_of(self, worker_pid: int) -> list[int]:
        """The mini-batches a worker of this session holds (to release them when it dies)."""
        held = []
        for name in os.listdir(os.path.join(self.root, "claim")):
            if name.isdigit():
                owner = _read(self._path("claim", name))
                if owner and owner.get("session") == self.session and owner.get("worker") == worker_pid:
                    held.append(int(name))
        return held

    def state(self, batch_id: int) -> dict[str, Any]:
        """`attempts` that failed so far and their last `errors`."""
        return _read(self._path("state", batch_id)) or {"attempts": 0, "errors": []}

    def fail_attempt(self, batch_id: int, error: str) -> int:
        """Count a failed attempt (by the claim's holder or whoever ends it); returns the failures so far."""
        state = self.state(batch_id)
        state["attempts"] += 1
        state["errors"] = [*state["errors"], error][-5:]
        _write_atomic(self._path("state", batch_id), state)
        return state["attempts"]

    def finish(self, batch_id: int, outcome: dict[str, Any], text: str = "") -> None:
        """Record the final outcome and output lines: the claim file is rewritten with them and renamed
        to `done/<id>`, so the claim ends and the outcome appears in one step (and no file is created:
        creating files is what a mini-batch's bookkeeping costs most). The rewritten claim keeps its
        owner fields, so if its writer dies before the rename the claim is stolen as any other."""
        claim = self._path("claim", batch_id)
        record = json.dumps({**outcome, "session": self.session, "worker": os.getpid(), "host": HOST})
        try:
            fd = os.open(claim, os.O_WRONLY | os.O_TRUNC)
        except FileNotFoundError:  # nobody holds it (a supervisor ending a stolen attempt)
            _write_atomic(self._path("done", batch_id), outcome, text)
        else:
            try:
                os.write(fd, (record + "\n" + text).encode())
            finally:
                os.close(fd)
            os.replace(claim, self._path("done", batch_id))
        if outcome.get("status") == "failed":
            os.close(os.open(self._path("failed", batch_id), os.O_WRONLY | os.O_CREAT, 0o644))

    def entry(self, batch_id: int) -> tuple[dict[str, Any], str] | None:
        """A finished mini-batch's outcome and output lines, in one read; None while unfinished."""
        text = _read_all(self._path("done", batch_id))
        if text is None:
            return None
        head, _, lines = text.partition("\n")
        try:
            return json.loads(head), lines
        except ValueError:
            return None

    def is_done(self, batch_id: int) -> bool:
        return os.path.exists(self._path("done", batch_id))

    def outcome(self, batch_id: int) -> dict[str, Any] | None:
        return _read(self._path("done", batch_id))

    def counts(self) -> tuple[int, int]:
        """(finished, failed) mini-batches, from directory listings only: cheap enough to poll."""
        return len(_ids(os.path.join(self.root, "done"))), len(_ids(os.path.join(self.root, "failed")))

    def outcomes(self) -> dict[int, dict[str, Any]]:
        """Every finished mini-batch's outcome, by id."""
        found = {}
        for name in os.listdir(os.path.join(self.root, "done")):
            if name.isdigit():
                outcome = _read(self._path("done", name))
                if outcome is not None:
                    found[int(name)] = outcome
        return found


def _ids(folder: str) -> list[str]:
    return [name for name in os.listdir(folder) if name.isdigit()]


__all__ = ["Ledger", "pid_alive"]
