"""A validated pipeline submission, handed to whatever runs pipelines (the Airflow provider).

There is no runner in this package: `submit` calls the `aml_submit_pipeline` hook when a plugin
declares it and otherwise says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import PluginError
from .plan import PipelinePlan


@dataclass
class Submission:
    """Everything a runner needs: the plan, the parameter values of this run and Azure's flags."""

    plan: PipelinePlan
    experiment_name: str
    parameters: dict[str, Any]
    continue_on_step_failure: bool = False
    regenerate_outputs: bool = False
    parent_run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def submit(pipeline: Any, submission: Submission) -> Any:
    """Hand a validated submission to the `aml_submit_pipeline` hook (keyword call, like every hook)."""
    from ..data._common import config_of
    from ..plugins import get_plugin_manager
    from .loader import capture, capturing

    if capturing():
        capture(pipeline, submission)

    hook = getattr(get_plugin_manager().hook, "aml_submit_pipeline", None)
    result = None if hook is None else hook(workspace=config_of(pipeline.workspace), pipeline=pipeline,
                                            submission=submission)
    if result is None or result == []:
        raise PluginError("No pipeline runner is installed: Pipeline.submit needs a plugin implementing "
                          "aml_submit_pipeline(workspace, pipeline, submission) (the Airflow provider)")
    return result


__all__ = ["Submission", "submit"]
