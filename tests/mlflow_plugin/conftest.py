"""Fixtures for the MLflow plugin tests: one SQLite workspace and one HTTP server per session.

A new SQLite store costs ~4 s of schema migration, so tests share stores and isolate themselves
with unique experiment names (`unique` fixture).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aml_bridge.plugins import build_plugin_manager
from aml_bridge.settings import WorkspaceConfig, resolve


@pytest.fixture(scope="session")
def hooks() -> Any:
    """`pm.hook` of a fresh plugin manager (entry points loaded, so the MLflow plugin is in)."""
    return build_plugin_manager().hook


@pytest.fixture(scope="session")
def sqlite_ws(tmp_path_factory: pytest.TempPathFactory) -> WorkspaceConfig:
    home = tmp_path_factory.mktemp("sqlite-home")
    return resolve(home=str(home), tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
                   artifact_root=str(home / "artifacts"))


@pytest.fixture(scope="session")
def http_ws(mlflow_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> WorkspaceConfig:
    home = tmp_path_factory.mktemp("http-home")
    return resolve(home=str(home), tracking_uri=mlflow_server_url, artifact_root=str(home / "artifacts"))


@pytest.fixture
def unique() -> str:
    """A fresh experiment/model name."""
    return f"t_{uuid.uuid4().hex[:10]}"
