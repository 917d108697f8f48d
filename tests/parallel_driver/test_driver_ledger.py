"""The ledger: one owner per mini-batch across processes; only claims of a dead session are stolen."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

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
    import json
    import time

    root = str(tmp_path / "ledger")
    remote = Ledger(root, session="remote")
    assert remote.claim(0, 1)
    info = {"host": "elsewhere", "pid": 1, "time": time.time()}
    (tmp_path / "ledger" / "session" / "remote").write_text(json.dumps(info))
    assert not Ledger(root, lease=60).claim(0, 2)
    info["time"] -= 120
    (tmp_path / "ledger" / "session" / "remote").write_text(json.dumps(info))
    assert Ledger(root, lease=60).claim(0, 2)
