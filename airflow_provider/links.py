"""Extra links on every step task: the step's MLflow run and the pipeline's MLflow run.

The operator stores both URLs in XCom during `execute`; Airflow calls `get_link` on the worker
when the task finishes and keeps the answer (FACTS.md), so links never come from operator state.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.bases.xcom import BaseXCom

XCOM_KEY = "aml_bridge_links"


def persist_links(context: Any, run_url: str, pipeline_url: str) -> None:
    context["ti"].xcom_push(key=XCOM_KEY, value={"run": run_url, "pipeline": pipeline_url})


class _MlflowLink(BaseOperatorLink):
    which = ""

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        links = BaseXCom.get_value(ti_key=ti_key, key=XCOM_KEY) or {}
        return links.get(self.which, "")


class MlflowRunLink(_MlflowLink):
    """The MLflow page of this step's run."""

    name = "MLflow run"
    which = "run"


class MlflowPipelineRunLink(_MlflowLink):
    """The MLflow page of the pipeline run (the step run's parent)."""

    name = "MLflow pipeline run"
    which = "pipeline"
