"""`get_provider_info()` for Airflow's provider discovery (entry point `apache_airflow_provider`).

Kept apart from everything else and import-free: Airflow imports it while discovering providers.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "aml-bridge",
        "name": "aml-bridge",
        "description": "Run Azure ML SDK v1 pipelines as Airflow DAGs, tracked in MLflow.",
        "versions": ["0.1.0"],
        "integrations": [{"integration-name": "aml-bridge", "external-doc-url": "https://mlflow.org",
                          "tags": ["software"]}],
        "operators": [{"integration-name": "aml-bridge", "python-modules": ["airflow_provider.operators"]}],
        "hooks": [{"integration-name": "aml-bridge", "python-modules": ["airflow_provider.hooks"]}],
        "extra-links": ["airflow_provider.links.MlflowRunLink", "airflow_provider.links.MlflowPipelineRunLink"],
        "connection-types": [{
            "connection-type": "aml_bridge",
            "hook-class-name": "airflow_provider.hooks.AmlBridgeHook",
            "hook-name": "aml-bridge (MLflow workspace)",
            "conn-fields": {
                "artifact_root": {"label": "Artifact root", "schema": {"type": ["string", "null"]},
                                  "description": "Where new experiments keep artifacts (s3://bucket/prefix or a folder)"},
                "home": {"label": "Workspace home", "schema": {"type": ["string", "null"]},
                         "description": "Folder for the embedded store and local datastores"},
                "mlflow_ui": {"label": "MLflow UI URL", "schema": {"type": ["string", "null"]}},
                "workspace_name": {"label": "Workspace name", "schema": {"type": ["string", "null"]}},
            },
            "ui-field-behaviour": {
                "hidden-fields": ["schema", "port", "login", "password"],
                "relabeling": {"host": "MLflow tracking URI"},
                "placeholders": {"host": "http://mlflow.internal:5000"},
            },
        }],
    }
