"""A `ParallelRunStep` / v2 parallel step as three tasks: prepare, `node_count` mapped node tasks, gather.

Airflow maps over **nodes**, never over mini-batches (ARCHITECTURE §7): each node task runs the
driver with `process_count_per_node` workers that claim mini-batches from one ledger. The gather
task carries the step's task id, so downstream steps and the pipeline's end task see the step
where they expect it. The work itself lives in `aml_bridge.execution.parallel_steps`.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, TaskGroup
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from .links import MlflowPipelineRunLink, MlflowRunLink, persist_links
from .operators import (
    FAILED_STATES,
    START_TASK_ID,
    parameter_values,
    submission_options,
    task_states,
    workspace_of,
)

# A lost node is replaced, as on Azure: the retry resumes from the ledger.
NODE_RETRIES = 3
NODE_RETRY_DELAY = timedelta(seconds=5)
PREPARE_SUFFIX = "__prepare"
NODE_SUFFIX = "__nodes"
PREPARED_KEY = "aml_bridge_prepared"


class _ParallelStepTask(BaseOperator):
    operator_extra_links = (MlflowRunLink(), MlflowPipelineRunLink())
    ui_color = "#e8e4f0"

    def __init__(self, *, step: dict[str, Any], pipeline: dict[str, Any], step_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.pipeline = pipeline
        self.step_task_id = step_task_id

    def _execution(self, context: Any) -> Any:
        from aml_bridge import Run
        from aml_bridge.execution.parallel_steps import ParallelStepExecution
        from aml_bridge.pipeline.plan import StepPlan

        ti = context["ti"]
        workspace = workspace_of(self.pipeline)
        options = submission_options(self.pipeline, context)
        pipeline_run = Run.get(workspace, ti.xcom_pull(task_ids=START_TASK_ID)["run_id"])
        step = StepPlan.from_dict(self.step)
        producers = sorted({i.producer for i in step.inputs if i.producer})
        upstream = {task: ti.xcom_pull(task_ids=task) for task in producers}
        return ParallelStepExecution(workspace, step, pipeline_run, parameter_values(self.pipeline, context),
                                     upstream, bool(options["regenerate_outputs"]), -1, ti.try_number)


class ParallelPrepareOperator(_ParallelStepTask):
    """Creates the step run, reuses or lists the inputs, writes the manifest; returns the node indexes.

    An empty node list (the step was reused) skips the node tasks; the gather task still runs.
    """

    def execute(self, context: Any) -> list[int]:
        from aml_bridge.execution import StepFailed, blocked_reason

        execution = self._execution(context)
        options = submission_options(self.pipeline, context)
        failed = [t for t, s in task_states(context).items() if s in FAILED_STATES]
        reason = blocked_reason(execution.pipeline_run, bool(options["continue_on_step_failure"]), failed)
        if reason:
            raise AirflowSkipException(f"Step not started: {reason}")
        run = execution.attach_run()
        persist_links(context, run.get_portal_url(), execution.pipeline_run.get_portal_url())
        try:
            prepared = execution.prepare()
        except (StepFailed, ValueError) as exc:
            run._set_status("Failed", _error(str(exc)))
            raise AirflowException(str(exc)) from None
        context["ti"].xcom_push(key=PREPARED_KEY, value=prepared)
        return prepared["nodes"]  # what the node tasks map over (Airflow maps over return values only)


class ParallelNodeOperator(_ParallelStepTask):
    """One node (mapped over `node`): the driver with `process_count_per_node` workers, as a subprocess."""

    template_fields = ("node",)

    def __init__(self, *, node: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.node = node
        self._process: subprocess.Popen | None = None

    def execute(self, context: Any) -> None:
        from aml_bridge import Run
        from aml_bridge.execution import StepFailed
        from aml_bridge.execution.parallel_steps import ParallelStepExecution, StepStopped
        from aml_bridge.pipeline.plan import StepPlan

        # The prepare task's XCom is all a node needs: the step run and the work folder (the inputs are
        # resolved there already), so the start task's and the upstream steps' XComs are not pulled.
        ti = context["ti"]
        prepared = ti.xcom_pull(task_ids=self.step_task_id + PREPARE_SUFFIX, key=PREPARED_KEY)
        workspace = workspace_of(self.pipeline)
        run = Run.get(workspace, prepared["run_id"])
        execution = ParallelStepExecution(workspace, StepPlan.from_dict(self.step), run.parent,
                                          parameter_values(self.pipeline, context), {}, try_number=ti.try_number)
        persist_links(context, run.get_portal_url(), execution.pipeline_run.get_portal_url())
        try:
            execution.run_node(run, prepared["work_dir"], int(self.node), on_start=self._remember)
        except StepStopped as exc:  # a threshold breach: a retry would stop again at once
            raise AirflowFailException(str(exc)) from None
        except StepFailed as exc:  # a crash: the retry resumes from the ledger
            raise AirflowException(str(exc)) from None

    def _remember(self, process: subprocess.Popen) -> None:
        self._process = process

    def on_kill(self) -> None:
        """End the node's driver and its workers (they die with it)."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)


class ParallelGatherOperator(_ParallelStepTask):
    """After every node (all done): the output file, the thresholds, the summary, the step run's status."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trigger_rule="all_done", **kwargs)

    def execute(self, context: Any) -> dict[str, Any]:
        from aml_bridge.execution import StepFailed, record_step_failure

        ti = context["ti"]
        prepare_id = self.step_task_id + PREPARE_SUFFIX
        prepared = ti.xcom_pull(task_ids=prepare_id, key=PREPARED_KEY)
        if not prepared:
            if task_states(context).get(prepare_id) == "skipped":
                raise AirflowSkipException("Step not started (its prepare task was skipped)")
            record_step_failure(self._execution(context).pipeline_run, self.step_task_id)
            raise AirflowException(f"Step [{self.step_task_id}] was not prepared (task {prepare_id} failed)")
        execution = self._execution(context)
        run = execution.find_run()
        if run is not None:
            persist_links(context, run.get_portal_url(), execution.pipeline_run.get_portal_url())
        try:
            return execution.gather(prepared).to_xcom()
        except StepFailed as exc:
            if ti.try_number > self.retries:
                record_step_failure(execution.pipeline_run, self.step_task_id)
            raise AirflowException(str(exc)) from None


def parallel_step_tasks(step: Any, dag: Any, pipeline: dict[str, Any], placement: dict[str, Any]) -> TaskGroup:
    """The step's task group: prepare >> nodes (mapped over the prepare task's node list) >> gather."""
    common = {"step": dataclasses.asdict(step), "pipeline": pipeline, "step_task_id": step.task_id}
    with TaskGroup(group_id=f"{step.task_id}__parallel", prefix_group_id=False, dag=dag) as group:
        prepare = ParallelPrepareOperator(task_id=step.task_id + PREPARE_SUFFIX, dag=dag, **common)
        nodes = ParallelNodeOperator.partial(task_id=step.task_id + NODE_SUFFIX, dag=dag, retries=NODE_RETRIES,
                                             retry_delay=NODE_RETRY_DELAY, **common, **placement
                                             ).expand(node=prepare.output)
        gather = ParallelGatherOperator(task_id=step.task_id, dag=dag, **common)
        prepare >> nodes >> gather
    return group


def _error(message: str) -> dict[str, Any]:
    from aml_bridge.run import error_response

    return error_response(message, "UserError")
