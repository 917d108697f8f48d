"""Operators of a pipeline DAG: open the pipeline run, run one step each, close the pipeline run.

Construction only stores arguments (the scheduler re-parses DAG files constantly); everything
heavy (MLflow, data, the step's process) happens in `execute` through `aml_bridge.execution`.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from .links import MlflowPipelineRunLink, MlflowRunLink, persist_links

START_TASK_ID = "aml_pipeline_start"
END_TASK_ID = "aml_pipeline_end"
CONF_KEY = "_aml_bridge"  # per-submission flags in dag_run.conf (regenerate_outputs, tags, ...)
FAILED_STATES = ("failed", "upstream_failed")


def workspace_of(pipeline: dict[str, Any]) -> Any:
    """The workspace the DAG file resolved, rebuilt from its JSON form."""
    from aml_bridge import Workspace
    from aml_bridge.settings import WorkspaceConfig

    return Workspace(config=WorkspaceConfig(**pipeline["workspace"]))


def submission_options(pipeline: dict[str, Any], context: Any) -> dict[str, Any]:
    """DAG defaults overlaid with what this DAG run's conf asks for."""
    conf = (context["dag_run"].conf or {}).get(CONF_KEY) or {}
    keys = ("experiment_name", "continue_on_step_failure", "regenerate_outputs")
    return {**{k: pipeline[k] for k in keys}, "tags": pipeline.get("tags") or {}, **conf}


def parameter_values(pipeline: dict[str, Any], context: Any) -> dict[str, Any]:
    """Pipeline parameter values of this DAG run: DAG params (UI / `dag_run.conf` overrides)."""
    params = context["params"]
    return {name: params.get(name, default) for name, default in pipeline["parameters"].items()}


def task_states(context: Any) -> dict[str, str]:
    """States of this DAG run's task instances, through the Task Execution API."""
    ti = context["ti"]
    found = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
    return {task: str(state) for task, state in (found.get(ti.run_id) or {}).items() if state is not None}


class PipelineStartOperator(BaseOperator):
    """Root task: creates the pipeline run once per DAG run and shares its id through XCom."""

    def __init__(self, *, pipeline: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline

    def execute(self, context: Any) -> dict[str, Any]:
        from aml_bridge.execution import start_pipeline_run

        options = submission_options(self.pipeline, context)
        run = start_pipeline_run(workspace_of(self.pipeline), options["experiment_name"], context["ti"].dag_id,
                                 context["ti"].run_id, parameter_values(self.pipeline, context),
                                 tags={str(k): str(v) for k, v in options["tags"].items()},
                                 description=self.pipeline.get("description"), run_id=options.get("run_id"))
        print(f"Pipeline run {run.id}: {run.get_portal_url()}", flush=True)
        return {"run_id": run._backend_id, "aml_run_id": run.id, "url": run.get_portal_url()}


class PipelineEndOperator(BaseOperator):
    """Final task (all done): closes the pipeline run; fails the DAG run unless it Completed."""

    def __init__(self, *, pipeline: dict[str, Any], step_task_ids: list[str], **kwargs: Any) -> None:
        super().__init__(trigger_rule="all_done", **kwargs)
        self.pipeline = pipeline
        self.step_task_ids = step_task_ids

    def execute(self, context: Any) -> str:
        from aml_bridge import Run
        from aml_bridge.execution import finish_pipeline_run

        started = context["ti"].xcom_pull(task_ids=START_TASK_ID)
        if not started:
            raise AirflowException("The pipeline run was never created (the start task did not succeed).")
        states = task_states(context)
        failed = [t for t in self.step_task_ids if states.get(t) in FAILED_STATES]
        pipeline_run = Run.get(workspace_of(self.pipeline), started["run_id"])
        status = finish_pipeline_run(pipeline_run, failed)
        print(f"Pipeline run {pipeline_run.id} ended {status}", flush=True)
        if status != "Completed":
            raise AirflowException(f"Pipeline run {pipeline_run.id} ended {status}"
                                   + (f": failed steps {', '.join(failed)}" if failed else ""))
        return status


class PythonScriptStepOperator(BaseOperator):
    """Runs one `PythonScriptStep` as a subprocess, tracked as a step run of the pipeline run."""

    template_fields = ()
    operator_extra_links = (MlflowRunLink(), MlflowPipelineRunLink())
    ui_color = "#e4f0e8"

    def __init__(self, *, step: dict[str, Any], pipeline: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.pipeline = pipeline
        self._processes: list[subprocess.Popen] = []
        self._step_run: Any = None

    def execute(self, context: Any) -> dict[str, Any]:
        from aml_bridge.execution import StepFailed, record_step_failure
        from aml_bridge.execution.step_task import execution_for

        ti = context["ti"]
        execution = execution_for(step_task(self.step, self.pipeline, context, self.task_id))
        pipeline_run = execution.pipeline_run
        self._step_run = execution.attach_run()
        persist_links(context, self._step_run.get_portal_url(), pipeline_run.get_portal_url())
        os.environ["AML_BRIDGE_MAP_INDEX"] = str(_map_index(ti))
        try:
            result = execution.execute(forward_signals=False, on_start=self._remember)
        except StepFailed as exc:
            if ti.try_number > self.retries:  # no retry left: later steps must not start
                record_step_failure(pipeline_run, self.task_id)
            raise AirflowException(str(exc)) from None
        return result.to_xcom()

    def _remember(self, process: subprocess.Popen) -> None:
        self._processes.append(process)

    def on_kill(self) -> None:
        """End the script's process groups (every rank) and mark the step run Canceled."""
        running = [p for p in self._processes if p.poll() is None]
        for process in running:
            _kill_group(process, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _kill_group(process, signal.SIGKILL)
        if self._step_run is not None:
            self._step_run._set_status("Canceled")


class EstimatorStepOperator(PythonScriptStepOperator):
    """Runs one `EstimatorStep`: the estimator's script in its environment, with its ranks and time limit."""

    ui_color = "#e8e4f0"


def _kill_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def step_task(step: dict[str, Any], pipeline: dict[str, Any], context: Any, task_id: str) -> dict[str, Any]:
    """This attempt of a step as JSON (see aml_bridge.execution.step_task); skips a blocked step."""
    from aml_bridge import Run
    from aml_bridge.execution import blocked_reason

    ti = context["ti"]
    options = submission_options(pipeline, context)
    started = ti.xcom_pull(task_ids=START_TASK_ID)
    pipeline_run = Run.get(workspace_of(pipeline), started["run_id"])
    failed = [t for t, state in task_states(context).items() if state in FAILED_STATES and t != task_id]
    reason = blocked_reason(pipeline_run, bool(options["continue_on_step_failure"]), failed)
    if reason:
        raise AirflowSkipException(f"Step not started: {reason}")
    producers = sorted({i["producer"] for i in step["inputs"] if i.get("producer")})
    return {"workspace": pipeline["workspace"], "step": step, "pipeline_run_id": started["run_id"],
            "parameters": parameter_values(pipeline, context), "upstream": {t: ti.xcom_pull(task_ids=t) for t in producers},
            "regenerate_outputs": bool(options["regenerate_outputs"]), "map_index": _map_index(ti),
            "try_number": ti.try_number}


def _map_index(ti: Any) -> int:
    index = getattr(ti, "map_index", -1)
    return -1 if index is None else int(index)


def pipeline_settings(workspace: Any, plan: Any, experiment_name: str, continue_on_step_failure: bool,
                      regenerate_outputs: bool, run_tags: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON every task of a pipeline DAG carries (see the `aml_step_to_task` hook)."""
    return {
        "workspace": dataclasses.asdict(workspace.config),
        "experiment_name": experiment_name,
        "continue_on_step_failure": continue_on_step_failure,
        "regenerate_outputs": regenerate_outputs,
        "start_task_id": START_TASK_ID,
        "parameters": dict(plan.parameters),
        "parameter_kinds": dict(plan.parameter_kinds),
        "description": plan.description,
        "tags": {str(k): str(v) for k, v in (run_tags or {}).items()},
    }
