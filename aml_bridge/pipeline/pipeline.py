"""`Pipeline`: the graph is built at construction (Azure does the same), the plan on demand."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from ..data import datastore_registry
from ..data._common import DEFAULT_DATASTORE_NAME
from ..errors import AmlBridgeError
from ..settings import WorkspaceConfig
from .graph import Graph, build_graph, cycle_message, find_cycle
from .plan import PipelinePlan
from .planner import PlanContext, build_plan

_ACCEPTED_KWARGS = {"enable_email_notification"}


def _default_datastore_name(workspace: Any, default_datastore: Any) -> str:
    if default_datastore is not None:
        return default_datastore if isinstance(default_datastore, str) else default_datastore.name
    config = workspace if isinstance(workspace, WorkspaceConfig) else getattr(workspace, "config", None)
    return datastore_registry.default_name(config) if isinstance(config, WorkspaceConfig) else DEFAULT_DATASTORE_NAME


class Pipeline:
    """A collection of steps; unlisted upstream steps are pulled in (`resolve_closure=True`)."""

    def __init__(self, workspace: Any, steps: Any, description: str | None = None, default_datastore: Any = None,
                 default_source_directory: str | None = None, resolve_closure: bool = True,
                 _workflow_provider: Any = None, _service_endpoint: Any = None, **kwargs: Any) -> None:
        unknown = set(kwargs) - _ACCEPTED_KWARGS
        if unknown:
            raise ValueError(f"Pipeline got unexpected keyword arguments {sorted(unknown)}; "
                             f"accepted: {sorted(_ACCEPTED_KWARGS)}")
        self._workspace = workspace
        self._description = description
        self._context = PlanContext(os.path.abspath(default_source_directory or os.getcwd()),
                                    _default_datastore_name(workspace, default_datastore))
        self._graph = build_graph(steps, resolve_closure)
        self._definition_file = _definition_file()
        for step in self._graph.steps:
            step._check_at_build(self._context)

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def workspace(self) -> Any:
        return self._workspace

    def validate(self) -> list[str]:
        """Azure's validation: a list of error strings, empty when the pipeline can run."""
        cycle = find_cycle(self._graph)
        if cycle is not None:
            return [cycle_message(cycle)]
        try:
            self.plan()
        except (AmlBridgeError, ValueError) as exc:
            return [str(exc)]
        return []

    def plan(self, pipeline_parameters: dict[str, Any] | None = None,
             reserved_task_ids: Iterable[str] = ()) -> PipelinePlan:
        """The pure-data plan; `pipeline_parameters` replace defaults, `reserved_task_ids` are avoided."""
        return build_plan(self._graph, self._context, self._description, pipeline_parameters, reserved_task_ids)

    def submit(self, experiment_name: str, pipeline_parameters: dict[str, Any] | None = None,
               continue_on_step_failure: bool = False, regenerate_outputs: bool = False,
               parent_run_id: str | None = None, credential_passthrough: Any = None, **kwargs: Any) -> Any:
        """Validate the parameters (unknown names raise Azure's error) and hand the run to the runner."""
        from .submission import Submission, submit

        plan = self.plan()
        values = plan.parameter_values(pipeline_parameters)
        tags = {str(k): str(v) for k, v in (kwargs.get("tags") or {}).items()}
        return submit(self, Submission(plan, experiment_name, values, continue_on_step_failure,
                                       regenerate_outputs, parent_run_id, tags))

    def publish(self, name: str | None = None, description: str | None = None, version: str | None = None,
                continue_on_step_failure: bool | None = None) -> Any:
        """Register the pipeline as a DAG Airflow keeps serving; returns a `PublishedPipeline`.

        The generated DAG file runs this pipeline's definition file again at parse time, so
        the pipeline must come from a file (`aml-bridge pipeline publish FILE` for scripts).
        """
        from .loader import capture, capturing
        from .published import publish_pipeline

        if capturing():
            capture(self, None)
        return publish_pipeline(self, name, description, version, continue_on_step_failure)

    def _aml_submit(self, experiment: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """`Experiment(ws, name).submit(pipeline, ...)`; `pipeline_params` is Azure's old alias."""
        if "pipeline_params" in kwargs and "pipeline_parameters" not in kwargs:
            kwargs["pipeline_parameters"] = kwargs.pop("pipeline_params")
        return self.submit(experiment.name, tags=tags, **kwargs)


def _definition_file() -> str | None:
    """The file (outside aml-bridge) whose code built this pipeline: what a published DAG re-runs."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame = sys._getframe(2)
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        if not name.startswith(package) and name.endswith(".py") and os.path.isfile(name):
            return name
        frame = frame.f_back
    return None


__all__ = ["Pipeline"]
