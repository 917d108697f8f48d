"""Azure's three failure thresholds (AML_API §4.4), on running totals of mini-batch outcomes.

`error_threshold` counts failed items, `allowed_failed_count` failed mini-batches (both abort as
soon as they are exceeded; -1 or None disables), `allowed_failed_percent` is judged only once
every mini-batch has been scheduled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .config import ParallelSettings


@dataclass
class Totals:
    """Running counts of finished mini-batches."""

    ok: int = 0
    failed_batches: int = 0
    failed_items: int = 0
    succeeded_items: int = 0

    def add(self, outcome: dict[str, Any]) -> None:
        if outcome["status"] == "failed":
            self.failed_batches += 1
        else:
            self.ok += 1
        self.failed_items += outcome["failed_items"]
        self.succeeded_items += outcome["succeeded"]

    def merge(self, other: Totals) -> None:
        self.ok += other.ok
        self.failed_batches += other.failed_batches
        self.failed_items += other.failed_items
        self.succeeded_items += other.succeeded_items

    @staticmethod
    def of(outcomes: Iterable[dict[str, Any]]) -> Totals:
        totals = Totals()
        for outcome in outcomes:
            totals.add(outcome)
        return totals


def _enforced(limit: int | None) -> bool:
    return limit is not None and limit != -1


def breach(settings: ParallelSettings, totals: Totals) -> str | None:
    """Why the step must stop now, or None."""
    if _enforced(settings.error_threshold) and totals.failed_items > settings.error_threshold:
        return f"{totals.failed_items} failed items exceed error_threshold {settings.error_threshold}"
    limit = settings.allowed_failed_count
    if _enforced(limit) and totals.failed_batches > limit:
        return f"{totals.failed_batches} failed mini-batches exceed allowed_failed_count {limit}"
    return None


def final_breach(settings: ParallelSettings, totals: Totals, total: int) -> str | None:
    """`breach` plus `allowed_failed_percent`, once all mini-batches are finished."""
    why = breach(settings, totals)
    percent = settings.allowed_failed_percent
    if why is None and percent is not None and total and 100.0 * totals.failed_batches / total > percent:
        why = f"{totals.failed_batches}/{total} failed mini-batches exceed allowed_failed_percent {percent}"
    return why


__all__ = ["Totals", "breach", "final_breach"]
