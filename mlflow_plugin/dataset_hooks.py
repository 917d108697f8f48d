"""Dataset lineage: datasets a step consumed become the MLflow run's dataset inputs (import-light)."""

from __future__ import annotations

from typing import Any

from aml_bridge.hookspecs import hookimpl
from aml_bridge.settings import WorkspaceConfig


@hookimpl
def aml_log_dataset_inputs(workspace: WorkspaceConfig, run_id: str, datasets: list[dict[str, Any]]) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    from . import store

    inputs = [DatasetInput(Dataset(d["name"], d["digest"], d["source_type"], d["source"]),
                           [InputTag("mlflow.data.context", d["context"])]) for d in datasets]
    if inputs:
        store.client(workspace).log_inputs(run_id, datasets=inputs)


__all__ = ["aml_log_dataset_inputs"]
