"""`azureml.pipeline.core.schedule`: schedules of published pipelines."""

from aml_bridge.pipeline import Schedule, ScheduleRecurrence, TimeZone

__all__ = ["Schedule", "ScheduleRecurrence", "TimeZone"]
