"""`azureml.pipeline.core` on aml-bridge: pipelines become plans the Airflow provider runs."""

from aml_bridge.pipeline import (
    InputPortBinding,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineStep,
    StepSequence,
)
from aml_bridge.pipeline.pipeline_data import PipelineOutputFileDataset, PipelineOutputTabularDataset

__all__ = ["InputPortBinding", "Pipeline", "PipelineData", "PipelineOutputFileDataset",
           "PipelineOutputTabularDataset", "PipelineParameter", "PipelineStep", "StepSequence"]
