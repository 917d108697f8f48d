"""MLflow `run_context_provider`: Airflow task tags on runs started with fluent `mlflow.start_run()`.

MLflow imports this module while `import mlflow` is still running, so it imports nothing but the
abstract base class; `aml_bridge.context` is read at call time to rule out import cycles.
"""

from __future__ import annotations

from mlflow.tracking.context.abstract_context import RunContextProvider


class AirflowRunContextProvider(RunContextProvider):
    """Adds `airflow.dag_id`, `airflow.task_id`, ... when the process runs inside an Airflow task."""

    def in_context(self) -> bool:
        from aml_bridge.context import in_airflow

        return in_airflow()

    def tags(self) -> dict[str, str]:
        from aml_bridge.context import airflow_tags

        return airflow_tags()
