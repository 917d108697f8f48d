"""Every hook aml-bridge calls. Bodies are docstrings only; `docs/hooks.md` documents each one.

All hooks are called with keyword arguments. `workspace` is always the resolved
`aml_bridge.settings.WorkspaceConfig`, so one process can talk to several stores. Run ids
in hooks are backend ids (for MLflow: the MLflow run id); Azure-style custom ids are a
tag the core resolves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .records import Metric, ModelRecord, RunRecord
    from .settings import WorkspaceConfig

hookspec = pluggy.HookspecMarker("aml_bridge")
hookimpl = pluggy.HookimplMarker("aml_bridge")


# --- runs -----------------------------------------------------------------------------


@hookspec(firstresult=True)
def aml_start_run(
    workspace: WorkspaceConfig,
    experiment_name: str,
    parent_run_id: str | None,
    run_name: str | None,
    tags: dict[str, str],
) -> RunRecord | None:
    """Create a run in `experiment_name` (creating the experiment if needed) and return it.

    :param workspace: the workspace whose store receives the run.
    :param experiment_name: an already validated experiment name.
    :param parent_run_id: backend id of the parent run, or None for a top-level run.
    :param run_name: display name of the run (MLflow `runName`).
    :param tags: initial tags, including the core's `aml_bridge.*` identity tags.
    :return: the new run's record; its status is whatever `tags["aml_bridge.status"]` says.
    """


@hookspec(firstresult=True)
def aml_read_run(workspace: WorkspaceConfig, run_id: str) -> RunRecord | None:
    """Return the current record of a run (status, tags, properties, times), or None if unknown.

    :param run_id: backend run id.
    """


@hookspec(firstresult=True)
def aml_search_runs(
    workspace: WorkspaceConfig,
    experiment_name: str | None,
    parent_run_id: str | None,
    tags: dict[str, str],
) -> list[RunRecord] | None:
    """Return runs newest-first, filtered by experiment, parent and exact tag values.

    :param experiment_name: only runs of this experiment; None searches every experiment.
    :param parent_run_id: only direct children of this run; None means no parent filter.
    :param tags: exact `{key: value}` matches every returned run must have (may be empty).
    """


@hookspec(firstresult=True)
def aml_list_experiments(workspace: WorkspaceConfig) -> list[str] | None:
    """Return the names of the workspace's active experiments."""


@hookspec
def aml_log_batch(
    workspace: WorkspaceConfig,
    run_id: str,
    metrics: list[Metric],
    tags: dict[str, str],
    properties: dict[str, str],
) -> None:
    """Persist a batch: typed metric values, tags (set/overwrite) and properties (add-only).

    The core buffers `run.log` calls and calls this once per batch, never per value. Every
    implementation receives every batch (it is a broadcast), so a mirror backend can listen.
    Values in `metrics` keep their Python types (int, float, bool, str, None, dict rows,
    aml:// URI strings) and `get_metrics` must return them unchanged through `aml_read_metrics`.
    The core has already checked properties for conflicts.

    :param metrics: values in logged order.
    :param tags: string values; `""` stands for a tag set without value.
    :param properties: string values, never changed once set.
    """


@hookspec
def aml_delete_tags(workspace: WorkspaceConfig, run_id: str, keys: list[str]) -> None:
    """Remove tags from a run; unknown keys are ignored."""


@hookspec(firstresult=True)
def aml_read_metrics(workspace: WorkspaceConfig, run_id: str) -> list[Metric] | None:
    """Return every metric value of a run in logged order, with the types it was logged with."""


@hookspec
def aml_set_status(
    workspace: WorkspaceConfig, run_id: str, status: str, error: dict[str, Any] | None
) -> None:
    """Move a run to an Azure status (`Running`, `Completed`, `Failed`, `Canceled`, ...).

    Terminal statuses end the run in the backend (MLflow: FINISHED/FAILED/KILLED).

    :param error: Azure's ErrorResponse dict (`{"error": {"code", "message", ...}}`) or None.
    """


# --- artifacts ------------------------------------------------------------------------


@hookspec(firstresult=True)
def aml_log_artifact(
    workspace: WorkspaceConfig, run_id: str, local_path: str, artifact_path: str
) -> bool | None:
    """Store a local file as artifact `artifact_path`, or a local folder under that prefix.

    The core has already refused names that exist. Return True when stored.
    """


@hookspec(firstresult=True)
def aml_list_artifacts(workspace: WorkspaceConfig, run_id: str, prefix: str) -> list[str] | None:
    """Return every artifact file path under `prefix` ("" for all), recursively, sorted."""


@hookspec(firstresult=True)
def aml_download_artifact(
    workspace: WorkspaceConfig, run_id: str, artifact_path: str, dst_dir: str
) -> str | None:
    """Download a file or folder artifact into `dst_dir` and return the local path."""


# --- models ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def aml_register_model(
    workspace: WorkspaceConfig,
    name: str,
    run_id: str | None,
    artifact_path: str | None,
    local_path: str | None,
    tags: dict[str, str],
    description: str | None,
) -> ModelRecord | None:
    """Register a new version of model `name` and return it.

    Exactly one source is given: a run's artifact (`run_id` + `artifact_path`) or a local
    file or folder (`local_path`), which the backend must copy into its own storage.
    """


@hookspec(firstresult=True)
def aml_search_models(
    workspace: WorkspaceConfig, name: str | None, version: int | None, run_id: str | None
) -> list[ModelRecord] | None:
    """Return registered model versions (newest version first) filtered by name/version/run."""


@hookspec(firstresult=True)
def aml_download_model(workspace: WorkspaceConfig, name: str, version: int, dst_dir: str) -> str | None:
    """Download a model version's files into `dst_dir` and return the local path of its root."""


@hookspec(firstresult=True)
def aml_set_model_tags(
    workspace: WorkspaceConfig, name: str, version: int, tags: dict[str, str]
) -> bool | None:
    """Set tags on a model version; return True when done."""


# --- processes ------------------------------------------------------------------------


@hookspec
def aml_step_env(workspace: WorkspaceConfig, run: RunRecord, step: Any) -> dict[str, str] | None:
    """Return environment variables a process launched for `run` needs (merged over all plugins).

    The MLflow plugin returns `MLFLOW_TRACKING_URI`/`MLFLOW_RUN_ID` so plain `mlflow.*` calls in
    the script land in the same run; data plugins add port paths.

    :param step: the pipeline step being launched, or None for a plain script run.
    """


@hookspec(firstresult=True)
def aml_get_secret(workspace: WorkspaceConfig, name: str) -> str | None:
    """Return the secret `name`, or None when this plugin does not have it."""


@hookspec
def aml_log_dataset_inputs(workspace: WorkspaceConfig, run_id: str, datasets: list[dict[str, str]]) -> None:
    """Record that run `run_id` consumed `datasets` (lineage; every backend plugin gets the call).

    Each dict: `name` (registered name, else `dataset_<id prefix>`), `digest` (32 hex of the data's
    content identity: ETags on S3), `source_type` (`s3`, `local`, `http`), `source` (JSON: dataset
    id, version, URIs) and `context` (the input name the step used).
    """


@hookspec
def aml_log_model_input(workspace: WorkspaceConfig, run_id: str, model_uri: str) -> None:
    """Record that run `run_id` scores the model `model_uri` (`models:/...` or `runs:/...`): lineage of
    a `ParallelTask(type='model')` step, every backend plugin gets the call."""


@hookspec(firstresult=True)
def aml_storage_credentials(workspace: WorkspaceConfig, connection_id: str) -> dict[str, Any] | None:
    """Return the credentials of storage connection `connection_id`, or None when this plugin lacks it.

    Keys: `aws_access_key_id`, `aws_secret_access_key`, optional `aws_session_token`,
    `region_name`, `endpoint_url`. Used by S3 datastores that name a `connection_id`; the values
    are handed to boto3 only (never logged, tagged or put in a step's environment).
    """


# --- pipelines ------------------------------------------------------------------------


@hookspec(firstresult=True)
def aml_step_to_task(step: Any, dag: Any, pipeline: dict[str, Any]) -> Any:
    """Turn one plan step into an Airflow operator on `dag`, or return None for a kind you don't handle.

    Third parties add step types this way: match `step.kind` and return your operator.

    :param step: an `aml_bridge.pipeline.plan.StepPlan` (pure data; `step.kind` says which type).
    :param dag: the `airflow.sdk.DAG` being built; create the operator with `dag=dag`.
    :param pipeline: settings every step task needs (JSON-serialisable): `workspace` (a
        WorkspaceConfig as a dict), `experiment_name`, `continue_on_step_failure`,
        `regenerate_outputs`, `start_task_id`, `parameters` (defaults) and `parameter_kinds`.
    """


@hookspec(firstresult=True)
def aml_submit_pipeline(workspace: WorkspaceConfig, pipeline: Any, submission: Any) -> Any:
    """Run a submitted pipeline and return its `PipelineRun` (`Pipeline.submit`, `Experiment.submit`).

    :param pipeline: the `aml_bridge.pipeline.Pipeline` object.
    :param submission: `aml_bridge.pipeline.submission.Submission` (plan, parameter values, flags).
    """


@hookspec(firstresult=True)
def aml_pipeline_service(workspace: WorkspaceConfig) -> Any:
    """The service that keeps published pipelines, endpoints and schedules and runs them.

    Returns an object with the methods of `aml_bridge.pipeline.publishing.PipelineService`
    (`publish`, `records`, `save`, `submit`, `set_paused`, `endpoint_url`, `write_schedule`).
    The Airflow provider's implementation stores records beside generated DAG files in the DAGs
    folder and triggers runs through its REST endpoint (or `dag.test()` when no server is set).
    """
