"""Model registry hooks on MLflow: versions from run artifacts or local files (import-light)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aml_bridge.hookspecs import hookimpl
from aml_bridge.records import ModelRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from aml_bridge.settings import WorkspaceConfig

log = logging.getLogger(__name__)

TAG_MODEL_FILE = "aml_bridge.model_file"
TAG_MODEL_DIR = "aml_bridge.model_dir"


# --- models ----------------------------------------------------------------------------


@hookimpl
def aml_log_model_input(workspace: WorkspaceConfig, run_id: str, model_uri: str) -> None:
    """The scored model becomes a model input of the run (MLflow 3 `LoggedModelInput`): the exact logged
    model behind an alias or `latest`. A version registered from plain files has no logged model: the
    run's `azureml.parallel.model` tag still names the reference."""
    from mlflow.entities import LoggedModelInput

    from . import store

    client = store.client(workspace)
    model_id = _logged_model_id(client, model_uri)
    if model_id:
        client.log_inputs(run_id, models=[LoggedModelInput(model_id)])


def _logged_model_id(client: MlflowClient, model_uri: str) -> str | None:
    """The id of the logged model a `runs:/` or `models:/` URI names, None if it names plain files."""
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    from aml_bridge.parallel.model_task import run_logged_model

    if model_uri.startswith("runs:/"):
        run_id, _, path = model_uri[len("runs:/"):].partition("/")
        return getattr(run_logged_model(client, client.get_run(run_id), path)[0], "model_id", None)
    found = get_model_name_and_version(client, model_uri)
    if len(found) == 1:  # models:/<model id>
        return found[0]
    version = client.get_model_version(*found)
    # A SQL registry leaves ModelVersion.model_id empty; MLflow 3 registers a logged model as models:/<model id>.
    source = version.source or ""
    return version.model_id or (source[len("models:/"):] if source.startswith("models:/m-") else None)


@hookimpl
def aml_register_model(
    workspace: WorkspaceConfig,
    name: str,
    run_id: str | None,
    artifact_path: str | None,
    local_path: str | None,
    tags: dict[str, str],
    description: str | None,
) -> ModelRecord:
    from mlflow.exceptions import MlflowException
    from mlflow.utils.uri import append_to_uri_path

    from . import store

    client = store.client(workspace)
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if store.error_code(exc) != "RESOURCE_ALREADY_EXISTS":
            raise
    version_tags = {k: str(v) for k, v in tags.items()}
    if run_id:
        # The underlying URI, resolved with this workspace's client: MLflow's own helpers
        # (RunsArtifactRepository.get_underlying_uri) read the process-global tracking URI.
        run_root = client.get_run(run_id).info.artifact_uri
        source = append_to_uri_path(run_root, artifact_path) if artifact_path else run_root
        version = client.create_model_version(
            name, source, run_id=run_id, tags=version_tags, description=description)
        return store.model_record(version)
    if not local_path:
        raise ValueError("aml_register_model needs run_id or local_path")
    source, model_id, relative = _store_local_model(workspace, client, name, Path(local_path))
    version_tags[TAG_MODEL_FILE if Path(local_path).is_file() else TAG_MODEL_DIR] = relative
    extra: dict[str, Any] = {"model_id": model_id} if store.is_http(workspace.tracking_uri) else {}
    version = client.create_model_version(name, source, tags=version_tags, description=description, **extra)
    return store.model_record(version)


def _store_local_model(
    workspace: WorkspaceConfig, client: MlflowClient, name: str, path: Path
) -> tuple[str, str, str]:
    """Copy a local file/folder into an MLflow logged model; return (source, model id, name).

    The source is the logged model's artifact location, not `models:/<id>`: the SQLite
    registry resolves `models:/` URIs through the process-global tracking URI (MLflow 3.17),
    which need not be this workspace's. Over HTTP the server resolves it, so the version is
    linked to the logged model there (`model_id`).
    """
    from . import store

    if not path.exists():
        raise FileNotFoundError(f"Model path {path} does not exist")
    exp_id = store.experiment_id(workspace, store.MODELS_EXPERIMENT)
    logged_name = "".join("_" if c in '/:.%"\'' else c for c in name) or "model"
    model = client.create_logged_model(experiment_id=exp_id, name=logged_name)
    relative = path.resolve().name
    if path.is_file():
        client.log_model_artifact(model.model_id, str(path))
    else:
        client.log_model_artifacts(model.model_id, str(path), relative)
    client.finalize_logged_model(model.model_id, "READY")
    source = f"models:/{model.model_id}" if store.is_http(workspace.tracking_uri) else model.artifact_location
    return source, model.model_id, relative


@hookimpl
def aml_search_models(
    workspace: WorkspaceConfig, name: str | None, version: int | None, run_id: str | None
) -> list[ModelRecord]:
    from mlflow.exceptions import MlflowException

    from . import store

    client = store.client(workspace)
    if name is not None and version is not None:
        try:
            found = [client.get_model_version(name, str(version))]
        except MlflowException as exc:
            if store.is_missing(exc):
                return []
            raise
    else:
        clauses = []
        for key, value in (("name", name), ("run_id", run_id)):
            literal = store.quote(value) if value is not None else None
            if literal:
                clauses.append(f"{key} = {literal}")
        found, token = [], None
        while True:
            page = client.search_model_versions(
                " and ".join(clauses) or None, max_results=store.PAGE_SIZE, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
    records = [
        store.model_record(v) for v in found
        if (name is None or v.name == name) and (run_id is None or v.run_id == run_id)
        and (version is None or int(v.version) == int(version))
    ]
    records.sort(key=lambda r: (r.created_time or 0.0, r.version), reverse=True)
    return records


@hookimpl
def aml_download_model(workspace: WorkspaceConfig, name: str, version: int, dst_dir: str) -> str:
    import mlflow.artifacts

    from . import store

    client = store.client(workspace)
    model_version = client.get_model_version(name, str(version))
    uri = client.get_model_version_download_uri(name, str(version))
    relative = (model_version.tags or {}).get(TAG_MODEL_FILE) or (model_version.tags or {}).get(TAG_MODEL_DIR)
    if relative:
        uri = f"{uri.rstrip('/')}/{relative}"
    os.makedirs(dst_dir, exist_ok=True)
    return mlflow.artifacts.download_artifacts(
        artifact_uri=uri, dst_path=dst_dir, tracking_uri=workspace.tracking_uri,
        registry_uri=workspace.tracking_uri)


@hookimpl
def aml_set_model_tags(workspace: WorkspaceConfig, name: str, version: int, tags: dict[str, str]) -> bool:
    from . import store

    client = store.client(workspace)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, str(value))
    return True


