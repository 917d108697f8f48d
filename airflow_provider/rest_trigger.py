"""Azure's published-pipeline REST trigger, served by the Airflow API server (a plugin FastAPI app).

    POST /aml-bridge/pipelines/v1.0/PipelineRuns/PipelineSubmit/<published pipeline id>
    POST /aml-bridge/pipelines/v1.0/PipelineRuns/PipelineEndpointSubmit/Id/<pipeline endpoint id>
    Authorization: Bearer <Airflow JWT>
    {"ExperimentName": "...", "ParameterAssignments": {...}}      ->  {"Id": "<pipeline run id>"}

The caller is authenticated and authorized (trigger runs of the DAG) by Airflow's own auth
manager. The body is checked like `PublishedPipeline.submit` checks it; any bad input answers
4xx with a message and triggers nothing. The run is created by Airflow's own trigger code (the
public `POST /dagRuns` route), so DAG params are validated as there.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from .pipeline_service import SUBMIT_PATHS

_ALLOWED_KEYS = {"ExperimentName", "ParameterAssignments", "Tags", "ContinueOnStepFailure", "PipelineVersion",
                 "DataPathAssignments", "DataSetDefinitionValueAssignments", "Description", "RunSource"}


def build_app() -> FastAPI:
    app = FastAPI(title="aml-bridge: Azure ML published pipeline REST trigger")

    @app.exception_handler(HTTPException)
    async def _azure_error(request: Request, exc: HTTPException) -> JSONResponse:
        """Azure's error shape, with FastAPI's `detail` kept for Airflow-style clients."""
        return JSONResponse({"error": {"code": _code(exc.status_code), "message": exc.detail}, "detail": exc.detail},
                            status_code=exc.status_code, headers=exc.headers)

    @app.post(SUBMIT_PATHS["pipelines"])
    def submit_published(id: str, request: Request, user: GetUserDep,
                         body: dict = Depends(_json_body)) -> dict[str, Any]:
        return _submit(_record("pipelines", id, "published pipeline"), body, user, request)

    @app.post(SUBMIT_PATHS["endpoints"])
    def submit_endpoint(id: str, request: Request, user: GetUserDep,
                        body: dict = Depends(_json_body)) -> dict[str, Any]:
        from aml_bridge.pipeline.published import check_endpoint_active, endpoint_pipeline_id

        endpoint = _record("endpoints", id, "pipeline endpoint")
        with _as_bad_request():
            check_endpoint_active(endpoint)
            version = body.get("PipelineVersion")
            pipeline_id = endpoint_pipeline_id(endpoint, None if version is None else str(version))
        return _submit(_record("pipelines", pipeline_id, "published pipeline"), body, user, request)

    return app


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the request body must be a JSON object")
    unknown = sorted(set(body) - _ALLOWED_KEYS)
    if unknown:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"unknown field(s) {unknown}; accepted: {sorted(_ALLOWED_KEYS)}")
    for key in ("DataPathAssignments", "DataSetDefinitionValueAssignments"):
        if body.get(key):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{key} is not supported by aml-bridge; pass data "
                                                             "locations as ParameterAssignments")
    return body


def _submit(record: dict[str, Any], body: dict[str, Any], user: Any, request: Request) -> dict[str, Any]:
    from aml_bridge.pipeline.published import check_submittable

    from .pipeline_service import run_conf

    _authorize(record["dag_id"], user)
    with _as_bad_request():
        check_submittable(record, body.get("ExperimentName"), body.get("ParameterAssignments"))
    run_id = str(uuid.uuid4())
    dag_run = _trigger(record["dag_id"], run_conf(body, run_id), user, request)
    return {"Id": run_id, "Status": "NotStarted", "DagId": record["dag_id"], "DagRunId": dag_run.run_id}


def _record(kind: str, record_id: str, label: str) -> dict[str, Any]:
    from airflow.configuration import conf

    from aml_bridge.pipeline.record_store import STORE_DIR, RecordStore

    record = RecordStore(Path(conf.get("core", "dags_folder")) / STORE_DIR).get(kind, record_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{label} {record_id} was not found")
    return record


def _authorize(dag_id: str, user: Any) -> None:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    if not get_auth_manager().is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN,
                                                details=DagDetails(id=dag_id), user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to trigger runs of DAG {dag_id}")


def _trigger(dag_id: str, conf: dict[str, Any], user: Any, request: Request) -> Any:
    """Airflow's own trigger route: DAG lookup, import errors, param validation, run creation."""
    from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
    from airflow.api_fastapi.core_api.routes.public.dag_run import trigger_dag_run
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    with create_session() as session:
        return trigger_dag_run(dag_id, TriggerDAGRunPostBody(logical_date=None, conf=conf), DBDagBag(), user,
                               session, request)


@contextlib.contextmanager
def _as_bad_request() -> Iterator[None]:
    """Turn aml-bridge's validation errors into a 400 carrying their message (which names the field)."""
    from aml_bridge.errors import AmlBridgeError

    try:
        yield
    except AmlBridgeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _code(status_code: int) -> str:
    return {400: "UserError", 401: "AuthenticationError", 403: "AuthorizationError", 404: "NotFound"}.get(
        status_code, "ServiceError")


__all__ = ["build_app"]
