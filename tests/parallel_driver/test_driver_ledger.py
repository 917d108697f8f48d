"""The ledger: one owner per mini-batch across processes; only claims of a dead session are stolen."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aml_bridge.parallel.ledger import Ledger


def _claim_all(root: str, out: str) -> None:
    ledger = Ledger(root, session="shared")
    won = [i for i in range(200) if ledger.claim(i, os.getpid())]
    Path(out).write_text(" ".join(map(str, won)))


def test_concurrent_claims_have_exactly_one_winner(tmp_path: Path) -> None:
    root = str(tmp_path / "ledger")
    Ledger(root)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_claim_all, args=(root, str(tmp_path / f"w{i}"))) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    won = [int(x) for i in range(4) for x in (tmp_path / f"w{i}").read_text().split()]
    assert sorted(won) == list(range(200))


def test_done_is_never_claimed_and_live_sessions_keep_their_claims(tmp_path: Path) -> None:
    root = str(tmp_path / "ledger")
    mine, other = Ledger(root), Ledger(root)
    other.heartbeat()
    assert other.claim(1, 11)
    assert not mine.claim(1, 12)                      # live session (this very process) keeps it
    mine.finish(2, {"status": "ok"})
    assert not mine.claim(2, 12)
    assert mine.claims_of(12) == [] and other.claims_of(11) == [1]


def test_claims_of_a_dead_session_are_stolen_and_attempts_survive(tmp_path: Path) -> None:
    root = str(tmp_path / "ledger")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = Ledger(root, supervisor_pid=dead.pid)
    gone.heartbeat()
    assert gone.claim(3, dead.pid) and gone.state(3)["attempts"] == 0
    fresh = Ledger(root)
    assert fresh.claim(3, os.getpid())
    assert fresh.state(3)["attempts"] == 1 and "is gone" in fresh.state(3)["errors"][0]


def test_stale_heartbeat_from_another_host_expires_after_the_lease(tmp_path: Path) -> None:
    root = str(tmp_path / "ledger")
    remote = Ledger(root, session="remote")
    assert remote.claim(0, 1)
    Path(remote.heartbeat_file).write_text(json.dumps({"session": "remote", "host": "elsewhere", "pid": 1}))
    assert not Ledger(root, lease=60).claim(0, 2)
    os.utime(remote.heartbeat_file, (time.time() - 120, time.time() - 120))  # its last beat, two minutes ago
    assert Ledger(root, lease=60).claim(0, 2)


def _claim_then_hang(root: str, ready: Any) -> None:
    Ledger(root, session="hung").claim(5, os.getpid())
    ready.set()
    time.sleep(60)


def test_a_killed_holder_leaves_no_claim_only_an_in_flight_record(tmp_path: Path) -> None:
    root = str(tmp_path / "ledger")
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    holder = ctx.Process(target=_claim_then_hang, args=(root, ready))
    holder.start()
    assert ready.wait(10)
    Path(Ledger(root, session="hung").heartbeat_file).write_text(  # a live session on another host
        json.dumps({"session": "hung", "host": "elsewhere", "pid": 1}))
    other = ctx.Process(target=lambda: os._exit(0 if Ledger(root).claim(5, os.getpid()) else 7))
    other.start()
    other.join()
    assert other.exitcode == 7  # the lock is held by a live process
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    assert not Ledger(root).claim(5, os.getpid())  # lock gone, but its session is alive: it counts the loss
    Path(Ledger(root, session="hung").heartbeat_file).unlink()
    thief = Ledger(root)
    assert thief.claim(5, os.getpid()) and thief.state(5)["attempts"] == 1


def test_journals_keep_complete_records_once_and_drop_a_torn_tail(tmp_path: Path) -> None:
    root = str(tmp_path / "ledger")
    first, second = Ledger(root, session="a"), Ledger(root, session="b")
    for batch_id in range(3):
        assert first.claim(batch_id, os.getpid())
        first.finish(batch_id, {"status": "ok", "items": 1}, f"line {batch_id}\n")
    second.finish(1, {"status": "failed", "items": 1})  # finished again after a crash: the success wins
    second.finish(2, {"status": "ok", "items": 1}, "line 2\n")
    journal = Path(root) / f"journal.b-{os.getpid()}"
    with journal.open("ab") as fh:  # a writer killed mid-record
        fh.write(json.dumps({"id": 3, "status": "ok", "bytes": 50}).encode() + b"\nline 3")
    entries = Ledger(root).entries()
    assert sorted(entries) == [0, 1, 2]
    assert [entries[i][1] for i in range(3)] == ["line 0\n", "line 1\n", "line 2\n"]
    assert Ledger(root).counts() == (3, 0) and not Ledger(root).is_done(3)


def test_mini_batches_cost_no_files(tmp_path: Path) -> None:
    """Claims and outcomes are records in two files, however many mini-batches there are."""
    root = tmp_path / "ledger"
    ledger = Ledger(str(root), session="s")
    for batch_id in range(500):
        assert ledger.claim(batch_id, os.getpid())
        ledger.finish(batch_id, {"status": "ok"}, "x\n")
        ledger.heartbeat()
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    assert files == ["board", f"journal.s-{os.getpid()}", ledger.heartbeat_file.rsplit("/", 1)[1]]
    assert ledger.counts() == (500, 0) and len(ledger.entries()) == 500
