"""The aml-bridge Airflow 3 provider: pipeline DAGs, step operators, MLflow extra links.

Import-light: Airflow's provider discovery imports `provider_info`, and MLflow never loads here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PythonScriptStepOperator", "pipeline_dag", "pipeline_dag_from_file"]


def __getattr__(name: str) -> Any:
    if name in ("pipeline_dag", "pipeline_dag_from_file"):
        from . import dag_builder

        return getattr(dag_builder, name)
    if name == "PythonScriptStepOperator":
        from .operators import PythonScriptStepOperator

        return PythonScriptStepOperator
    raise AttributeError(name)
