"""`azureml.pipeline.core` on aml-bridge: pipelines become plans the Airflow provider runs.

Published pipelines and schedules load on first use, so a definition that only builds and
submits a pipeline (what a DAG file runs at every parse) does not import them.
"""

from typing import Any

import aml_bridge.pipeline
from aml_bridge.pipeline import (
    InputPortBinding,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineStep,
    StepSequence,
)
from aml_bridge.pipeline.pipeline_data import PipelineOutputFileDataset, PipelineOutputTabularDataset

_LAZY = ("PipelineEndpoint", "PublishedPipeline", "Schedule", "ScheduleRecurrence", "TimeZone")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(aml_bridge.pipeline, name)
    raise AttributeError(f"module 'azureml.pipeline.core' has no attribute {name!r}")


__all__ = ["InputPortBinding", "Pipeline", "PipelineData", "PipelineEndpoint", "PipelineOutputFileDataset",
           "PipelineOutputTabularDataset", "PipelineParameter", "PipelineStep", "PublishedPipeline", "Schedule",
           "ScheduleRecurrence", "StepSequence", "TimeZone"]
