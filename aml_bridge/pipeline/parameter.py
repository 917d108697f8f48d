"""`PipelineParameter`: a named value chosen at submission (Airflow: a DAG param / `dag_run.conf`).

Defaults are kept as JSON in the plan: scalars as they are, a DataPath as
`{"datastore", "path"}`, a dataset as its definition dict.
"""

from __future__ import annotations

from typing import Any

from ..data.datapath import DataPath
from ..data.dataset import AbstractDataset, FileDataset, TabularDataset
from .errors import PipelineParameterTypeError

_SCALARS = (bool, int, float, str)


class PipelineParameter:
    """A pipeline-level parameter with a default; steps see the submitted value or the default."""

    def __init__(self, name: str, default_value: Any) -> None:
        if not isinstance(default_value, (*_SCALARS, DataPath, AbstractDataset)):
            raise ValueError(f"Default value is of unsupported type: {type(default_value).__name__}")
        self.name = name
        self.default_value = default_value

    def __str__(self) -> str:
        return f"PipelineParameter_Name:{self.name}_Default:{self.default_value}"

    __repr__ = __str__


def parameter_kind(value: Any) -> str:
    """The kind recorded in the plan: int, float, bool, str, datapath, file_dataset, tabular_dataset."""
    if isinstance(value, DataPath):
        return "datapath"
    if isinstance(value, FileDataset):
        return "file_dataset"
    if isinstance(value, TabularDataset):
        return "tabular_dataset"
    return type(value).__name__


def to_json_value(value: Any) -> Any:
    """A parameter value as plain JSON."""
    if isinstance(value, DataPath):
        return {"datastore": value.datastore_name, "path": value.path_on_datastore or ""}
    if isinstance(value, AbstractDataset):
        return value.to_dict()
    return value


def check_submitted(name: str, kind: str, value: Any) -> Any:
    """A submitted value in JSON form; dataset parameters must get the same kind of dataset (Azure: TypeError)."""
    if kind in ("file_dataset", "tabular_dataset"):
        if isinstance(value, AbstractDataset) and parameter_kind(value) == kind:
            return value.to_dict()
        if isinstance(value, dict) and value.get("definition", {}).get("type") == kind.split("_")[0]:
            return value
        raise PipelineParameterTypeError(f"Pipeline parameter {name} expects a {kind.replace('_', ' ')}, "
                                         f"got {type(value).__name__}")
    if kind == "datapath" and not isinstance(value, (dict, DataPath)):
        raise PipelineParameterTypeError(f"Pipeline parameter {name} expects a DataPath, got {type(value).__name__}")
    return to_json_value(value)


__all__ = ["PipelineParameter", "check_submitted", "parameter_kind", "to_json_value"]
