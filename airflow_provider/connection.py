"""Where published pipelines live and how a client reaches the Airflow that runs them.

Workspace config keys (or the `AML_BRIDGE_*` variables): `dags_folder`, `airflow_url`, and a
bearer token (`AML_BRIDGE_AIRFLOW_TOKEN`) or user and password exchanged at `/auth/token`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from aml_bridge import settings
from aml_bridge.errors import AmlBridgeError
from aml_bridge.settings import WorkspaceConfig

_tokens: dict[str, str] = {}


class ApiError(AmlBridgeError):
    """The Airflow API server refused a request; `status` is its HTTP status (0: unreachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def dags_folder(workspace: WorkspaceConfig) -> Path:
    """Configured folder, else Airflow's own `[core] dags_folder` (the embedded home's by default)."""
    configured = workspace.extra.get("dags_folder") or settings.AML_BRIDGE_DAGS_FOLDER.get()
    if configured:
        folder = Path(configured)
    else:
        if not {"AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER"} & set(os.environ):
            from .embedded import prepare_airflow_home

            prepare_airflow_home(workspace.home)  # no Airflow configured: the embedded one
        from airflow.configuration import conf

        folder = Path(conf.get("core", "dags_folder"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def api_url(workspace: WorkspaceConfig) -> str | None:
    url = workspace.extra.get("airflow_url") or settings.AML_BRIDGE_AIRFLOW_URL.get()
    return url.rstrip("/") if url else None


def base_url(workspace: WorkspaceConfig) -> str:
    """The URL published endpoints are announced under: the configured server, else Airflow's base_url."""
    url = api_url(workspace)
    if url:
        return url
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback=None) or "http://localhost:8080").rstrip("/")


def api_request(workspace: WorkspaceConfig, method: str, path: str, body: Any = None) -> Any:
    """JSON request to the configured API server with a bearer token; ApiError on any non-2xx."""
    url = api_url(workspace)
    if not url:
        raise ApiError(0, "no Airflow API server is configured (airflow_url / AML_BRIDGE_AIRFLOW_URL)")
    status, payload = _send(url + path, method, body, {"Authorization": f"Bearer {_token(workspace, url)}"})
    if not 200 <= status < 300:
        raise ApiError(status, f"{method} {path} answered {status}: {payload}")
    return payload


def _token(workspace: WorkspaceConfig, url: str) -> str:
    token = settings.AML_BRIDGE_AIRFLOW_TOKEN.get() or workspace.extra.get("airflow_token")
    if token:
        return token
    if url not in _tokens:
        user = workspace.extra.get("airflow_username") or settings.AML_BRIDGE_AIRFLOW_USERNAME.get()
        password = workspace.extra.get("airflow_password") or settings.AML_BRIDGE_AIRFLOW_PASSWORD.get()
        if not user:
            raise ApiError(401, f"no credentials for {url}: set AML_BRIDGE_AIRFLOW_TOKEN or "
                                "AML_BRIDGE_AIRFLOW_USERNAME/AML_BRIDGE_AIRFLOW_PASSWORD")
        status, payload = _send(url + "/auth/token", "POST", {"username": user, "password": password}, {})
        if status not in (200, 201):
            raise ApiError(status, f"POST {url}/auth/token answered {status}: {payload}")
        _tokens[url] = payload["access_token"]
    return _tokens[url]


def _send(url: str, method: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, str(error)


__all__ = ["ApiError", "api_request", "api_url", "base_url", "dags_folder"]
