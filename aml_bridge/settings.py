"""Every environment variable aml-bridge reads, declared once, and workspace configuration.

Precedence (ARCHITECTURE §9): explicit arguments > environment > workspace config file >
embedded default (`./.aml-bridge`: SQLite MLflow store and local artifact/datastore folders).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ProjectSystemException


@dataclass(frozen=True)
class EnvVar:
    """A declared environment variable with its default and a one-line reason."""

    name: str
    default: str | None
    doc: str

    def get(self) -> str | None:
        return os.environ.get(self.name, self.default)

    def get_float(self) -> float:
        return float(self.get() or 0)

    def get_int(self) -> int:
        return int(self.get() or 0)


AML_BRIDGE_HOME = EnvVar("AML_BRIDGE_HOME", None, "Embedded store folder (default ./.aml-bridge).")
AML_BRIDGE_CONFIG = EnvVar("AML_BRIDGE_CONFIG", None, "Path of the workspace config file to use.")
AML_BRIDGE_ARTIFACT_ROOT = EnvVar("AML_BRIDGE_ARTIFACT_ROOT", None, "Artifact root for new experiments.")
AML_BRIDGE_RUN_ID = EnvVar("AML_BRIDGE_RUN_ID", None, "Run a launched process logs into (get_context).")
AML_BRIDGE_FLUSH_INTERVAL = EnvVar("AML_BRIDGE_FLUSH_INTERVAL", "2.0", "Seconds between background flushes.")
AML_BRIDGE_FLUSH_SIZE = EnvVar("AML_BRIDGE_FLUSH_SIZE", "5000", "Buffered records that wake the flusher.")
AML_BRIDGE_MLFLOW_UI = EnvVar("AML_BRIDGE_MLFLOW_UI", None, "Base URL of the MLflow UI for links.")
AML_BRIDGE_DISABLE_PLUGINS = EnvVar("AML_BRIDGE_DISABLE_PLUGINS", "", "Comma list of entry points to skip.")
AML_BRIDGE_DISCARD_METRICS = EnvVar("AML_BRIDGE_DISCARD_METRICS", "", "1 in ranks > 0 of a distributed job.")
AML_BRIDGE_DAGS_FOLDER = EnvVar("AML_BRIDGE_DAGS_FOLDER", None,
                                "DAGs folder for published pipelines (default: Airflow's dags_folder).")
AML_BRIDGE_AIRFLOW_URL = EnvVar("AML_BRIDGE_AIRFLOW_URL", None,
                                "Airflow API server that runs published pipelines (default: run in-process).")
AML_BRIDGE_AIRFLOW_TOKEN = EnvVar("AML_BRIDGE_AIRFLOW_TOKEN", None, "Bearer token for AML_BRIDGE_AIRFLOW_URL.")
AML_BRIDGE_AIRFLOW_USERNAME = EnvVar("AML_BRIDGE_AIRFLOW_USERNAME", None, "User that gets a token from /auth/token.")
AML_BRIDGE_AIRFLOW_PASSWORD = EnvVar("AML_BRIDGE_AIRFLOW_PASSWORD", None, "Password of AML_BRIDGE_AIRFLOW_USERNAME.")
MLFLOW_TRACKING_URI = EnvVar("MLFLOW_TRACKING_URI", None, "MLflow's own tracking URI variable.")

ALL_VARIABLES = [
    AML_BRIDGE_HOME,
    AML_BRIDGE_CONFIG,
    AML_BRIDGE_ARTIFACT_ROOT,
    AML_BRIDGE_RUN_ID,
    AML_BRIDGE_FLUSH_INTERVAL,
    AML_BRIDGE_FLUSH_SIZE,
    AML_BRIDGE_MLFLOW_UI,
    AML_BRIDGE_DISABLE_PLUGINS,
    AML_BRIDGE_DISCARD_METRICS,
    AML_BRIDGE_DAGS_FOLDER,
    AML_BRIDGE_AIRFLOW_URL,
    AML_BRIDGE_AIRFLOW_TOKEN,
    AML_BRIDGE_AIRFLOW_USERNAME,
    AML_BRIDGE_AIRFLOW_PASSWORD,
    MLFLOW_TRACKING_URI,
]

CONFIG_FILE_NAMES = ("aml-bridge.json", ".azureml/config.json", "config.json")
DEFAULT_MLFLOW_UI = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class WorkspaceConfig:
    """Resolved workspace settings; Azure's identity fields are kept for display only."""

    name: str = "aml-bridge"
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "aml-bridge"
    location: str = "local"
    home: str = ""
    tracking_uri: str = ""
    artifact_root: str = ""
    mlflow_ui: str = DEFAULT_MLFLOW_UI
    config_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def child_env(self) -> dict[str, str]:
        """Variables that make a child process resolve this same workspace."""
        env = {
            "AML_BRIDGE_HOME": self.home,
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "AML_BRIDGE_ARTIFACT_ROOT": self.artifact_root,
            "AML_BRIDGE_MLFLOW_UI": self.mlflow_ui,
        }
        if self.config_path:
            env["AML_BRIDGE_CONFIG"] = self.config_path
        return env


def find_config_file(start: str | os.PathLike[str] | None = None) -> Path | None:
    """First config file found walking up from `start` (default cwd)."""
    explicit = AML_BRIDGE_CONFIG.get()
    if explicit and start is None:
        return Path(explicit)
    here = Path(start or os.getcwd()).resolve()
    if here.is_file():
        return here
    for folder in (here, *here.parents):
        for name in CONFIG_FILE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ProjectSystemException(f"Cannot read workspace config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProjectSystemException(f"Workspace config {path} must hold a JSON object")
    return data


def resolve(file_values: dict[str, Any] | None = None, config_path: Path | None = None,
            **explicit: Any) -> WorkspaceConfig:
    """Combine explicit arguments, environment, a config file's values and the defaults."""
    values = dict(file_values or {})
    base = config_path.parent.parent if config_path and config_path.parent.name == ".azureml" else (
        config_path.parent if config_path else Path.cwd())
    home = explicit.get("home") or AML_BRIDGE_HOME.get() or values.get("home") or ".aml-bridge"
    home_path = Path(home) if Path(home).is_absolute() else (base / home)
    home_path = home_path.resolve()
    tracking_uri = (explicit.get("tracking_uri") or MLFLOW_TRACKING_URI.get()
                    or values.get("tracking_uri") or f"sqlite:///{home_path / 'mlflow.db'}")
    artifact_root = (explicit.get("artifact_root") or AML_BRIDGE_ARTIFACT_ROOT.get()
                     or values.get("artifact_root") or str(home_path / "artifacts"))
    mlflow_ui = AML_BRIDGE_MLFLOW_UI.get() or values.get("mlflow_ui") or _ui_for(tracking_uri)
    known = {"workspace_name", "name", "subscription_id", "resource_group", "location",
             "home", "tracking_uri", "artifact_root", "mlflow_ui"}
    return WorkspaceConfig(
        name=explicit.get("name") or values.get("workspace_name") or values.get("name") or "aml-bridge",
        subscription_id=explicit.get("subscription_id") or values.get("subscription_id")
        or WorkspaceConfig.subscription_id,
        resource_group=explicit.get("resource_group") or values.get("resource_group")
        or WorkspaceConfig.resource_group,
        location=explicit.get("location") or values.get("location") or "local",
        home=str(home_path),
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        mlflow_ui=mlflow_ui.rstrip("/"),
        config_path=str(config_path) if config_path else None,
        extra={k: v for k, v in values.items() if k not in known},
    )


def _ui_for(tracking_uri: str) -> str:
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri
    return DEFAULT_MLFLOW_UI


def from_environment() -> WorkspaceConfig:
    """The workspace a process sees with no explicit arguments: env, then config file, then default."""
    path = find_config_file()
    return resolve(read_config_file(path) if path else None, path)


__all__ = ["ALL_VARIABLES", "EnvVar", "WorkspaceConfig", "find_config_file", "from_environment",
           "read_config_file", "replace", "resolve"]
