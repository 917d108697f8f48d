"""Azure ML v1 pipelines as pure data: steps, ports and parameters -> a `PipelinePlan`.

No Airflow, MLflow, pandas or boto3 import here: a DAG file that builds a pipeline stays cheap
to parse. The Airflow provider materialises the plan; `resolve` and `fingerprint` are the pure
run-time helpers its operators use.
"""

from __future__ import annotations

from typing import Any

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
from .python_script_step import PythonScriptStep
from .sequence import StepSequence
from .step import PipelineStep

# Publishing, schedules and submission load on first use: a DAG file that only builds a pipeline
# (parsed again and again by Airflow's DAG processor) does not pay for them.
_LAZY = {
    **dict.fromkeys(["PipelineEndpoint", "PublishedPipeline"], "published"),
    **dict.fromkeys(["ScheduleRecurrence", "TimeZone"], "recurrence"),
    "Schedule": "schedule",
    "Submission": "submission",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
