"""Azure ML v1 pipelines as pure data: steps, ports and parameters -> a `PipelinePlan`.

No Airflow, MLflow, pandas or boto3 import here: a DAG file that builds a pipeline stays cheap
to parse. The Airflow provider materialises the plan; `resolve` and `fingerprint` are the pure
run-time helpers its operators use.
"""

from __future__ import annotations

from .errors import PipelineDefinitionError, PipelineParameterError, PipelineParameterTypeError
from .estimator_step import EstimatorStep
from .parameter import PipelineParameter
from .pipeline import Pipeline
from .pipeline_data import (
    InputPortBinding,
    PipelineData,
    PipelineOutputFileDataset,
    PipelineOutputTabularDataset,
)
from .plan import ArgumentPlan, InputPlan, OutputPlan, ParamPlan, PipelinePlan, StepPlan
from .published import PipelineEndpoint, PublishedPipeline
from .python_script_step import PythonScriptStep
from .recurrence import ScheduleRecurrence, TimeZone
from .schedule import Schedule
from .sequence import StepSequence
from .step import PipelineStep
from .submission import Submission

__all__ = [
    "ArgumentPlan",
    "EstimatorStep",
    "InputPlan",
    "InputPortBinding",
    "OutputPlan",
    "ParamPlan",
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineDefinitionError",
    "PipelineOutputFileDataset",
    "PipelineOutputTabularDataset",
    "PipelineParameter",
    "PipelineParameterError",
    "PipelineParameterTypeError",
    "PipelinePlan",
    "PipelineStep",
    "PublishedPipeline",
    "PythonScriptStep",
    "Schedule",
    "ScheduleRecurrence",
    "StepPlan",
    "StepSequence",
    "Submission",
    "TimeZone",
]
