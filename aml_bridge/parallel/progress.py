"""Progress of a parallel step across its nodes: what the task log line and the step run's metrics say.

Each node's supervisor writes `progress/<session>.json` (its own succeeded/failed items and start
time) every few seconds and when it ends; finished/failed mini-batch counts come from the
ledger's directory listings. `collect` sums both, so any process that sees the work folder (a
node task, the gather task) can report the whole step without asking the workers.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from .ledger import Ledger

INTERVAL_VARIABLE = "AML_BRIDGE_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0


def interval() -> float:
    """Seconds between progress lines and metric points (`AML_BRIDGE_PROGRESS_INTERVAL`, default 10)."""
    try:
        return max(float(os.environ.get(INTERVAL_VARIABLE, DEFAULT_INTERVAL)), 0.1)
    except ValueError:
        return DEFAULT_INTERVAL


@dataclass
class Progress:
    """The step's counts: mini-batches of the manifest, and items of this and earlier node sessions."""

    total: int
    done: int
    failed: int
    succeeded_items: int
    failed_items: int
    items_per_second: float

    def line(self, who: str) -> str:
        return (f"[aml-bridge] {who}: {self.done}/{self.total} mini-batches finished ({self.failed} failed), "
                f"{self.succeeded_items} items succeeded, {self.failed_items} failed, "
                f"{self.items_per_second:.1f} items/s")

    def metrics(self) -> dict[str, float]:
        """The step run's progress metrics (Azure has none of its own; these names are aml-bridge's)."""
        return {"mini_batches_total": self.total, "mini_batches_finished": self.done,
                "mini_batches_failed": self.failed, "items_succeeded": self.succeeded_items,
                "items_failed": self.failed_items, "items_per_second": round(self.items_per_second, 3)}


def folder(work_dir: str) -> str:
    return os.path.join(work_dir, "progress")


def write(work_dir: str, session: str, node: str, started: float, succeeded: int, failed: int) -> None:
    """This session's own counts, atomically (a reader never sees half a file)."""
    os.makedirs(folder(work_dir), exist_ok=True)
    path = os.path.join(folder(work_dir), f"{session}.json")
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump({"node": node, "started": started, "updated": time.time(), "succeeded_items": succeeded,
                   "failed_items": failed}, fh)
    os.replace(tmp, path)


def sessions(work_dir: str) -> list[dict]:
    """Every node session's last report."""
    found = []
    if os.path.isdir(folder(work_dir)):
        for name in os.listdir(folder(work_dir)):
            if name.endswith(".json"):
                try:
                    with open(os.path.join(folder(work_dir), name)) as fh:
                        found.append(json.load(fh))
                except (OSError, ValueError):
                    continue
    return found


def span(work_dir: str) -> float:
    """Wall time from the first node session's start to the last one's last report."""
    found = sessions(work_dir)
    return max(s["updated"] for s in found) - min(s["started"] for s in found) if found else 0.0


def collect(work_dir: str, total: int) -> Progress:
    """The whole step's progress now; items/s over the time since the first session started."""
    done, failed = Ledger(os.path.join(work_dir, "ledger")).counts()
    reports = sessions(work_dir)
    succeeded = sum(s["succeeded_items"] for s in reports)
    failed_items = sum(s["failed_items"] for s in reports)
    started = min((s["started"] for s in reports), default=time.time())
    ended = max((s["updated"] for s in reports), default=started)
    seconds = max(ended - started, 1e-6)
    return Progress(total, done, failed, succeeded, failed_items, succeeded / seconds if reports else 0.0)


__all__ = ["Progress", "collect", "interval", "sessions", "span", "write"]
