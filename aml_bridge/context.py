"""Airflow context tags for runs created inside an Airflow task (import-light on purpose).

The MLflow `run_context_provider` plugin imports this module, so it must import nothing heavy.
"""

from __future__ import annotations

import os

# Airflow sets these in every task process; the map index is not among them, so the
# operator exports AML_BRIDGE_MAP_INDEX itself (FACTS.md).
_AIRFLOW_VARIABLES = {
    "airflow.dag_id": "AIRFLOW_CTX_DAG_ID",
    "airflow.task_id": "AIRFLOW_CTX_TASK_ID",
    "airflow.run_id": "AIRFLOW_CTX_DAG_RUN_ID",
    "airflow.try_number": "AIRFLOW_CTX_TRY_NUMBER",
    "airflow.map_index": "AML_BRIDGE_MAP_INDEX",
}


def in_airflow() -> bool:
    return "AIRFLOW_CTX_DAG_ID" in os.environ


def airflow_tags() -> dict[str, str]:
    """Tags describing the Airflow task this process runs in; empty outside Airflow."""
    if not in_airflow():
        return {}
    tags = {tag: os.environ[var] for tag, var in _AIRFLOW_VARIABLES.items() if var in os.environ}
    tags.setdefault("airflow.map_index", "-1")
    return tags


__all__ = ["airflow_tags", "in_airflow"]
