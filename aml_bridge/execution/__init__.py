"""Pipeline execution without Airflow imports: run tree, step attempts, pipeline gates.

The Airflow operators are thin wrappers over these functions (airflow_provider/operators.py).
"""

from .pipeline_runs import blocked_reason, finish_pipeline_run, record_step_failure, start_pipeline_run
from .runs import PipelineRun, PortDataReference, StepRun, StepRunOutput
from .steps import StepExecution, StepFailed, StepResult

__all__ = [
    "PipelineRun",
    "PortDataReference",
    "StepExecution",
    "StepFailed",
    "StepResult",
    "StepRun",
    "StepRunOutput",
    "blocked_reason",
    "finish_pipeline_run",
    "record_step_failure",
    "start_pipeline_run",
]
