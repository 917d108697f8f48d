"""Shared fixtures: isolated workspaces on a real SQLite MLflow store, and a real HTTP server."""

from __future__ import annotations

import os

import pytest

from aml_bridge import Workspace, settings
from tests.support.mlflow_server import start_mlflow_server, stop_mlflow_server

_ISOLATE = ("AML_BRIDGE_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID",
            "AML_BRIDGE_HOME", "AML_BRIDGE_CONFIG", "AML_BRIDGE_ARTIFACT_ROOT", "AIRFLOW_CTX_DAG_ID",
            "AML_BRIDGE_MLFLOW_UI", "AML_BRIDGE_DAGS_FOLDER", "AML_BRIDGE_AIRFLOW_URL", "AML_BRIDGE_AIRFLOW_TOKEN",
            "AML_BRIDGE_AIRFLOW_USERNAME", "AML_BRIDGE_AIRFLOW_PASSWORD")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ISOLATE:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory) -> str:
    """One SQLite store per session: creating one costs ~1.5 s of MLflow migrations."""
    return str(tmp_path_factory.mktemp("shared-home"))


@pytest.fixture
def ws(shared_home, tmp_path, monkeypatch) -> Workspace:
    """A workspace on the session's SQLite store; the cwd is a fresh scratch folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return Workspace(config=settings.resolve(home=shared_home))


@pytest.fixture(scope="session")
def mlflow_server_url(tmp_path_factory) -> str:
    url, proc = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    yield url
    stop_mlflow_server(proc)


@pytest.fixture(params=["sqlite", "http"])
def any_ws(request, tmp_path, monkeypatch) -> Workspace:
    """The core subset runs against both a SQLite store and an `mlflow server` over HTTP."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    if request.param == "sqlite":
        return Workspace(config=settings.resolve(home=request.getfixturevalue("shared_home")))
    url = request.getfixturevalue("mlflow_server_url")
    return Workspace(config=settings.resolve(home=str(tmp_path / "home"), tracking_uri=url))


@pytest.fixture
def exp(ws, request):
    """A fresh experiment per test, named after it."""
    import re
    import uuid

    from aml_bridge import Experiment

    return Experiment(ws, f"{re.sub(r'[^A-Za-z0-9_-]', '_', request.node.name)[:40]}_{uuid.uuid4().hex[:6]}")


def pytest_configure(config) -> None:
    """Process-wide settings, fixed before anything imports Airflow (it reads them once)."""
    import tempfile

    os.environ.setdefault("AML_BRIDGE_FLUSH_INTERVAL", "0.5")
    airflow_home = tempfile.mkdtemp(prefix="aml-bridge-tests-airflow-")
    os.environ["AIRFLOW_HOME"] = airflow_home
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(airflow_home, "dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{airflow_home}/airflow.db"
