"""Azure recurrences -> the generated Airflow timetable: next run times, time zones, DST changes.

Each case is (recurrence, the instant after which to look, the expected next fire time in UTC).
The timetable is asked exactly as the scheduler asks it (`next_dagrun_info` after the previous
run), and the pure arithmetic is checked to agree.
"""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.serialization.encoders import encode_timetable
from airflow.timetables.base import DataInterval, TimeRestriction

from airflow_provider.timetables import AzureRecurrenceTimetable
from aml_bridge.errors import UserErrorException
from aml_bridge.pipeline import ScheduleRecurrence, TimeZone
from aml_bridge.pipeline.recurrence import next_fire_time

UTC = dt.timezone.utc
CREATED = "2026-01-01T00:00:07+00:00"


def z(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


R = ScheduleRecurrence
CASES = [
    # minutes and hours: elapsed intervals from the start
    ("minute-15", R("Minute", 15, "2026-03-01T10:00:00"), z("2026-03-01T10:07:00"), z("2026-03-01T10:15:00")),
    ("minute-across-us-dst", R("Minute", 15, "2026-03-08T01:00:00", TimeZone.EasternStandardTime),
     z("2026-03-08T06:50:00"), z("2026-03-08T07:00:00")),
    ("hour-2", R("Hour", 2, "2026-01-01T00:30:00"), z("2026-01-01T05:00:00"), z("2026-01-01T06:30:00")),
    ("hour-across-pacific-dst", R("Hour", 1, "2026-03-07T12:00:00", "Pacific Standard Time"),
     z("2026-03-08T09:30:00"), z("2026-03-08T10:00:00")),
    # days: wall-clock times in the time zone
    ("day-9am-eastern", R("Day", 1, "2026-03-06T00:00:00", "Eastern Standard Time", hours=[9], minutes=[0]),
     z("2026-03-06T15:00:00"), z("2026-03-07T14:00:00")),
    ("day-9am-eastern-after-dst", R("Day", 1, "2026-03-06T00:00:00", "Eastern Standard Time", hours=[9], minutes=[0]),
     z("2026-03-07T14:00:00"), z("2026-03-08T13:00:00")),
    ("day-2-start-time-of-day", R("Day", 2, "2026-01-10T08:15:00"), z("2026-01-10T08:15:00"),
     z("2026-01-12T08:15:00")),
    ("day-hours-same-day", R("Day", 1, "2026-02-01T00:00:00", hours=[10, 14], minutes=[30]),
     z("2026-02-01T11:00:00"), z("2026-02-01T14:30:00")),
    ("day-hours-next-day", R("Day", 1, "2026-02-01T00:00:00", hours=[14, 10], minutes=[30]),
     z("2026-02-01T15:00:00"), z("2026-02-02T10:30:00")),
    ("day-time-of-day-tokyo", R("Day", 1, "2026-05-01T00:00:00", TimeZone.TokyoStandardTime, time_of_day="23:45"),
     z("2026-05-01T00:00:00"), z("2026-05-01T14:45:00")),
    ("day-ambiguous-fall-back-first", R("Day", 1, "2026-10-30T00:00:00", "Eastern Standard Time", hours=[1],
                                        minutes=[30]), z("2026-10-31T05:31:00"), z("2026-11-01T05:30:00")),
    ("day-after-fall-back", R("Day", 1, "2026-10-30T00:00:00", "Eastern Standard Time", hours=[1], minutes=[30]),
     z("2026-11-01T05:30:00"), z("2026-11-02T06:30:00")),
    ("day-future-start", R("Day", 1, "2026-09-01T07:00:00"), z("2026-08-01T00:00:00"), z("2026-09-01T07:00:00")),
    # weeks: week days, every n weeks counted from the start's week (weeks start on Sunday)
    ("week-mon-fri", R("Week", 1, "2026-06-01T00:00:00", week_days=["Monday", "Friday"], hours=[8], minutes=[0]),
     z("2026-06-01T09:00:00"), z("2026-06-05T08:00:00")),
    ("week-2-wednesday", R("Week", 2, "2026-06-01T00:00:00", week_days=["Wednesday"], time_of_day="12:00"),
     z("2026-06-03T12:00:00"), z("2026-06-17T12:00:00")),
    ("week-default-weekday", R("Week", 1, "2026-07-02T18:00:00"), z("2026-07-02T18:00:00"), z("2026-07-09T18:00:00")),
    ("week-spring-forward-gap-berlin", R("Week", 1, "2026-03-01T00:00:00", "W. Europe Standard Time",
                                         week_days=["Sunday"], hours=[2], minutes=[30]),
     z("2026-03-28T00:00:00"), z("2026-03-29T01:30:00")),
    ("week-after-eu-dst", R("Week", 1, "2026-03-01T00:00:00", "W. Europe Standard Time", week_days=["Sunday"],
                            hours=[9], minutes=[0]), z("2026-03-22T09:00:00"), z("2026-03-29T07:00:00")),
    # months: the start's day of month; months without that day are skipped
    ("month-31st-skips-february", R("Month", 1, "2026-01-31T06:00:00"), z("2026-01-31T06:00:00"),
     z("2026-03-31T06:00:00")),
    ("month-3-eastern-dst", R("Month", 3, "2026-01-15T09:00:00", "Eastern Standard Time"),
     z("2026-01-15T14:00:00"), z("2026-04-15T13:00:00")),
    ("iana-zone-sydney-dst-end", R("Day", 1, "2026-04-01T00:00:00", "Australia/Sydney", hours=[9], minutes=[0]),
     z("2026-04-03T22:00:00"), z("2026-04-04T23:00:00")),
    # no start time: the first run is at creation, then the recurrence from there
    ("no-start-runs-at-creation", R("Minute", 5), z("2026-01-01T00:00:07") - dt.timedelta(microseconds=1),
     z("2026-01-01T00:00:07")),
    ("no-start-then-interval", R("Minute", 5), z("2026-01-01T00:00:07"), z("2026-01-01T00:05:07")),
]


@pytest.mark.parametrize("recurrence,after,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_next_run_time_of_generated_timetable(recurrence, after, expected):
    recurrence.validate()
    timetable = AzureRecurrenceTimetable(recurrence.to_dict(), CREATED)
    info = timetable.next_dagrun_info(last_automated_data_interval=DataInterval.exact(after),
                                      restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    assert info.run_after == expected
    assert next_fire_time(recurrence, after, dt.datetime.fromisoformat(CREATED)) == expected


def test_first_run_and_serialization_through_the_plugin():
    recurrence = R("Day", 1, "2026-03-06T00:00:00", "Eastern Standard Time", hours=[9], minutes=[0])
    timetable = AzureRecurrenceTimetable(recurrence.to_dict(), "2026-03-06T12:00:00+00:00")
    first = timetable.next_dagrun_info(last_automated_data_interval=None,
                                       restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    assert first.run_after == z("2026-03-06T14:00:00")
    encoded = encode_timetable(timetable)  # raises unless the provider's plugin registers the class
    assert encoded["__type"] == "airflow_provider.timetables.AzureRecurrenceTimetable"
    assert AzureRecurrenceTimetable.deserialize(encoded["__var"]).serialize() == timetable.serialize()
    assert "every 1 day(s)" in timetable.summary


@pytest.mark.parametrize("kwargs,field", [
    ({"frequency": "Year", "interval": 1}, "frequency"),
    ({"frequency": "Day", "interval": 0}, "interval"),
    ({"frequency": "Hour", "interval": 1, "hours": [3]}, "hours"),
    ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "week_days"),
    ({"frequency": "Week", "interval": 1, "week_days": ["Funday"]}, "week_days"),
    ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours"),
    ({"frequency": "Day", "interval": 1, "minutes": [60]}, "minutes"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "9am"}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "09:00", "hours": [9]}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_zone": "Mars Standard Time"}, "time_zone"),
    ({"frequency": "Day", "interval": 1, "start_time": "2026-13-01"}, "start_time"),
])
def test_bad_recurrence_names_the_field(kwargs, field):
    with pytest.raises(UserErrorException, match=field):
        R(**kwargs).validate()
