"""`AzureRecurrenceTimetable`: a DAG schedule that fires exactly when Azure's ScheduleRecurrence would.

The arithmetic is `aml_bridge.pipeline.recurrence.next_fire_time`; this class adapts it to
Airflow's timetable protocol. Registered by the provider's Airflow plugin so the scheduler can
deserialize it. Like Azure, it does not backfill: without catchup, a fire time missed while the
scheduler was down is skipped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

from aml_bridge.pipeline.recurrence import ScheduleRecurrence, next_fire_time

_EPSILON = dt.timedelta(microseconds=1)


class AzureRecurrenceTimetable(Timetable):
    def __init__(self, recurrence: dict[str, Any], created: str) -> None:
        self.recurrence = dict(recurrence)
        self.created = created
        self._parsed = ScheduleRecurrence.from_dict(self.recurrence)
        self.description = _describe(self.recurrence)

    @property
    def summary(self) -> str:
        return self.description

    def serialize(self) -> dict[str, Any]:
        return {"recurrence": self.recurrence, "created": self.created}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> AzureRecurrenceTimetable:
        return cls(data["recurrence"], data["created"])

    def validate(self) -> None:
        self._parsed.validate()

    def infer_manual_data_interval(self, *, run_after: Any) -> DataInterval:
        return DataInterval.exact(run_after)

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction: TimeRestriction) -> DagRunInfo | None:
        created = dt.datetime.fromisoformat(self.created)
        after = last_automated_data_interval.end if last_automated_data_interval else created - _EPSILON
        if restriction.earliest is not None:
            after = max(after, restriction.earliest - _EPSILON)
        if not restriction.catchup and last_automated_data_interval is not None:
            after = max(after, dt.datetime.now(dt.timezone.utc) - _EPSILON)
        fire = next_fire_time(self._parsed, after, created)
        if restriction.latest is not None and fire > restriction.latest:
            return None
        return DagRunInfo.exact(pendulum.instance(fire))


def _describe(recurrence: dict[str, Any]) -> str:
    parts = [f"every {recurrence['interval']} {recurrence['frequency'].lower()}(s)"]
    for key in ("week_days", "hours", "minutes", "time_of_day", "start_time", "time_zone"):
        if recurrence.get(key) not in (None, []):
            parts.append(f"{key}={recurrence[key]}")
    return "Azure recurrence: " + ", ".join(parts)


__all__ = ["AzureRecurrenceTimetable"]
