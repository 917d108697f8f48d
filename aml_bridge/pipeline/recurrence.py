"""`ScheduleRecurrence` and the next fire time of an Azure ML recurrence, as pure date arithmetic.

Azure ML schedules use the Logic Apps recurrence engine. What is reproduced (docs/design.md,
"Schedules"): Minute/Hour recurrences are elapsed intervals from the start time (a DST change
does not move them off their spacing); Day/Week/Month recurrences fire at wall-clock times in
`time_zone`, so a DST change keeps 09:00 at 09:00 local. A wall time that does not exist (the
spring-forward gap) fires at the same offset after the gap; an ambiguous one fires once, at its
first occurrence. Unset schedule fields default to the start time's (hour, minute, weekday, day
of month); weeks start on Sunday and `interval` weeks/days/months count from the start's week,
day, month. No Airflow import: the provider's timetable wraps `next_fire_time`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import UserErrorException

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UTC = dt.timezone.utc

# Windows time zone ids (the values of Azure's TimeZone enum) -> IANA zones (CLDR windowsZones, territory 001).
WINDOWS_ZONES = {
    "UTC": "UTC", "Coordinated Universal Time": "UTC", "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik", "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest", "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw", "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev", "GTB Standard Time": "Europe/Bucharest",
    "Russian Standard Time": "Europe/Moscow", "Turkey Standard Time": "Europe/Istanbul",
    "Israel Standard Time": "Asia/Jerusalem", "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg", "Arabian Standard Time": "Asia/Dubai",
    "Arab Standard Time": "Asia/Riyadh", "Iran Standard Time": "Asia/Tehran",
    "Pakistan Standard Time": "Asia/Karachi", "India Standard Time": "Asia/Calcutta",
    "Nepal Standard Time": "Asia/Katmandu", "Bangladesh Standard Time": "Asia/Dhaka",
    "SE Asia Standard Time": "Asia/Bangkok", "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore", "Taipei Standard Time": "Asia/Taipei",
    "Tokyo Standard Time": "Asia/Tokyo", "Korea Standard Time": "Asia/Seoul",
    "W. Australia Standard Time": "Australia/Perth", "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin", "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney", "Tasmania Standard Time": "Australia/Hobart",
    "New Zealand Standard Time": "Pacific/Auckland", "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage", "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix", "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago", "Central America Standard Time": "America/Guatemala",
    "Canada Central Standard Time": "America/Regina", "Central Standard Time (Mexico)": "America/Mexico_City",
    "Eastern Standard Time": "America/New_York", "US Eastern Standard Time": "America/Indianapolis",
    "SA Pacific Standard Time": "America/Bogota", "Atlantic Standard Time": "America/Halifax",
    "Newfoundland Standard Time": "America/St_Johns", "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires", "Pacific SA Standard Time": "America/Santiago",
    "Azores Standard Time": "Atlantic/Azores", "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "Morocco Standard Time": "Africa/Casablanca", "W. Central Africa Standard Time": "Africa/Lagos",
    "E. Africa Standard Time": "Africa/Nairobi", "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11", "UTC+12": "Etc/GMT-12", "Samoa Standard Time": "Pacific/Apia",
    "Tonga Standard Time": "Pacific/Tongatapu", "Fiji Standard Time": "Pacific/Fiji",
}


class TimeZone(str, enum.Enum):
    """The Azure TimeZone members scripts use most; any Windows or IANA name is accepted as a string."""

    UTC = "UTC"
    GMTStandardTime = "GMT Standard Time"
    WEuropeStandardTime = "W. Europe Standard Time"
    CentralEuropeStandardTime = "Central Europe Standard Time"
    RomanceStandardTime = "Romance Standard Time"
    PacificStandardTime = "Pacific Standard Time"
    MountainStandardTime = "Mountain Standard Time"
    CentralStandardTime = "Central Standard Time"
    EasternStandardTime = "Eastern Standard Time"
    IndiaStandardTime = "India Standard Time"
    ChinaStandardTime = "China Standard Time"
    TokyoStandardTime = "Tokyo Standard Time"
    AUSEasternStandardTime = "AUS Eastern Standard Time"
    NewZealandStandardTime = "New Zealand Standard Time"


def zone(name: Any) -> ZoneInfo:
    """The IANA zone of an Azure time zone (TimeZone member, Windows id or IANA name)."""
    text = name.value if isinstance(name, enum.Enum) else str(name or "UTC")
    try:
        return ZoneInfo(WINDOWS_ZONES.get(text, text))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserErrorException(f"ScheduleRecurrence time_zone {text!r} is not a known time zone "
                                 "(use an azureml TimeZone member, a Windows zone id or an IANA name)") from exc


@dataclass
class ScheduleRecurrence:
    """Azure's recurrence: `frequency` every `interval`, optionally at hours/minutes/week days."""

    frequency: str
    interval: int
    start_time: Any = None
    time_zone: Any = None
    hours: list[int] | None = None
    minutes: list[int] | None = None
    week_days: list[str] | None = None
    time_of_day: str | None = None

    def validate(self) -> None:
        """Raise a UserErrorException naming the first bad field (called by Schedule.create)."""
        _check(self.frequency in FREQUENCIES, f"frequency must be one of {', '.join(FREQUENCIES)}; got "
                                              f"{self.frequency!r}")
        _check(isinstance(self.interval, int) and not isinstance(self.interval, bool) and self.interval > 0,
               f"interval must be an integer greater than 0; got {self.interval!r}")
        timed = self.hours is not None or self.minutes is not None or self.time_of_day is not None
        _check(not timed or self.frequency in ("Day", "Week"),
               "hours, minutes and time_of_day can only be set when frequency is Day or Week")
        _check(self.week_days is None or self.frequency == "Week", "week_days can only be set when frequency is Week")
        _check(self.time_of_day is None or (self.hours is None and self.minutes is None),
               "only time_of_day or hours and minutes can be set, not both")
        _check_values("hours", self.hours, range(24))
        _check_values("minutes", self.minutes, range(60))
        for day in self.week_days or []:
            _check(day in WEEK_DAYS, f"week_days must be among {', '.join(WEEK_DAYS)}; got {day!r}")
        if self.time_of_day is not None:
            _time_of_day(self.time_of_day)
        zone(self.time_zone)
        self.local_start(dt.datetime.now(UTC))

    def local_start(self, created: dt.datetime) -> dt.datetime:
        """The start as an aware local time; no start time means the creation time (Azure: run now)."""
        tz = zone(self.time_zone)
        start = self.start_time
        if start is None:
            return created.astimezone(tz)
        if isinstance(start, str):
            try:
                start = dt.datetime.strptime(start, "%Y-%m-%dT%H:%M:%S")
            except ValueError as exc:
                raise UserErrorException(f"ScheduleRecurrence start_time {start!r} must be formatted "
                                         "YYYY-MM-DDThh:mm:ss") from exc
        if not isinstance(start, dt.datetime):
            raise UserErrorException(f"ScheduleRecurrence start_time must be a datetime or a string; got {start!r}")
        return start.astimezone(tz) if start.tzinfo else start.replace(tzinfo=tz)

    def to_dict(self) -> dict[str, Any]:
        start = self.start_time
        return {"frequency": self.frequency, "interval": self.interval,
                "start_time": start.isoformat() if isinstance(start, dt.datetime) else start,
                "time_zone": self.time_zone.value if isinstance(self.time_zone, enum.Enum) else self.time_zone,
                "hours": self.hours, "minutes": self.minutes, "week_days": self.week_days,
                "time_of_day": self.time_of_day}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduleRecurrence:
        values = dict(data)
        if isinstance(values.get("start_time"), str) and ("+" in values["start_time"][10:]
                                                          or len(values["start_time"]) > 19):
            values["start_time"] = dt.datetime.fromisoformat(values["start_time"])
        return cls(**values)


def next_fire_time(recurrence: ScheduleRecurrence, after: dt.datetime, created: dt.datetime) -> dt.datetime:
    """The first fire time strictly after `after` (aware, UTC); `created` stands in for a missing start."""
    start = recurrence.local_start(created)
    if recurrence.frequency in ("Minute", "Hour"):
        step = dt.timedelta(**{recurrence.frequency.lower() + "s": recurrence.interval})
        start_utc = start.astimezone(UTC)
        if after < start_utc:
            return start_utc
        return start_utc + step * ((after - start_utc) // step + 1)
    times = _times_of_day(recurrence, start)
    day = max(after.astimezone(start.tzinfo).date(), start.date()) - dt.timedelta(days=1)
    for _ in range(3700 * recurrence.interval):
        if _day_fires(recurrence, start, day):
            for hour, minute, second in times:
                local = dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=start.tzinfo)
                fire = local.astimezone(UTC)
                if fire > after and local >= start:
                    return fire
        day += dt.timedelta(days=1)
    raise UserErrorException(f"ScheduleRecurrence {recurrence.to_dict()} never fires after {after.isoformat()}")


def _times_of_day(recurrence: ScheduleRecurrence, start: dt.datetime) -> list[tuple[int, int, int]]:
    if recurrence.time_of_day is not None:
        return [(*_time_of_day(recurrence.time_of_day), 0)]
    if recurrence.hours is None and recurrence.minutes is None:
        return [(start.hour, start.minute, start.second)]
    hours = sorted(set(recurrence.hours if recurrence.hours is not None else [start.hour]))
    minutes = sorted(set(recurrence.minutes if recurrence.minutes is not None else [start.minute]))
    return [(h, m, 0) for h in hours for m in minutes]


def _day_fires(recurrence: ScheduleRecurrence, start: dt.datetime, day: dt.date) -> bool:
    first = start.date()
    if recurrence.frequency == "Day":
        return (day - first).days % recurrence.interval == 0
    if recurrence.frequency == "Week":
        days = recurrence.week_days or [WEEK_DAYS[first.weekday()]]
        week_of = (day - _sunday(first)).days // 7
        return WEEK_DAYS[day.weekday()] in days and week_of % recurrence.interval == 0
    months = (day.year - first.year) * 12 + day.month - first.month
    return day.day == first.day and months % recurrence.interval == 0


def _sunday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def _time_of_day(text: str) -> tuple[int, int]:
    try:
        parsed = dt.datetime.strptime(text, "%H:%M")
    except (TypeError, ValueError) as exc:
        raise UserErrorException(f"ScheduleRecurrence time_of_day must be formatted hh:mm; got {text!r}") from exc
    return parsed.hour, parsed.minute


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserErrorException(f"ScheduleRecurrence {message}")


def _check_values(name: str, values: list[int] | None, allowed: range) -> None:
    if values is None:
        return
    _check(isinstance(values, (list, tuple)) and len(values) > 0, f"{name} must be a non-empty list of integers")
    for value in values:
        _check(isinstance(value, int) and value in allowed,
               f"{name} must be integers from {allowed.start} to {allowed.stop - 1}; got {value!r}")


__all__ = ["ScheduleRecurrence", "TimeZone", "next_fire_time", "zone"]
