"""`azureml.pipeline.core` on aml-bridge: pipelines become plans the Airflow provider runs."""

from aml_bridge.pipeline import (
    InputPortBinding,
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineStep,
    PublishedPipeline,
    Schedule,
    ScheduleRecurrence,
    StepSequence,
    TimeZone,
)
from aml_bridge.pipeline.pipeline_data import PipelineOutputFileDataset, PipelineOutputTabularDataset

__all__ = ["InputPortBinding", "Pipeline", "PipelineData", "PipelineEndpoint", "PipelineOutputFileDataset",
           "PipelineOutputTabularDataset", "PipelineParameter", "PipelineStep", "PublishedPipeline", "Schedule",
           "ScheduleRecurrence", "StepSequence", "TimeZone"]
