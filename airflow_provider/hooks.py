"""`AmlBridgeHook`: an Airflow connection (type `aml_bridge`) that names an MLflow workspace.

Host is the tracking URI; extras carry the artifact root, home folder and UI URL. Operators take
`aml_conn_id` to use it instead of the workspace the DAG file resolved.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from aml_bridge import settings


class AmlBridgeHook(BaseHook):
    conn_name_attr = "aml_conn_id"
    default_conn_name = "aml_bridge_default"
    conn_type = "aml_bridge"
    hook_name = "aml-bridge (MLflow workspace)"

    def __init__(self, aml_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aml_conn_id = aml_conn_id

    def get_workspace_config(self) -> settings.WorkspaceConfig:
        conn = self.get_connection(self.aml_conn_id)
        extra = conn.extra_dejson
        return settings.resolve(tracking_uri=conn.host or None, artifact_root=extra.get("artifact_root"),
                                home=extra.get("home"), name=extra.get("workspace_name"))

    def get_workspace(self) -> Any:
        from aml_bridge import Workspace

        return Workspace(config=self.get_workspace_config())
