"""Finding runs again: by MLflow or Azure-style id, as the right class, with Azure's filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import records as R
from .errors import UserErrorException
from .plugins import hooks

if TYPE_CHECKING:
    from .experiment import Experiment
    from .run import Run

DEFAULT_RUN_TYPE = "azureml.scriptrun"
_RUN_TYPES: dict[str, type[Run]] = {}
# Built-in run types whose module registers them on import; loaded on first use so that
# `Run.get(ws, pipeline_run_id)` is a PipelineRun without `import aml_bridge` paying for pipelines.
_BUILT_IN_TYPES = {"azureml.PipelineRun": "aml_bridge.execution.runs", "azureml.StepRun": "aml_bridge.execution.runs"}


def register_run_type(run_type: str, cls: type[Run]) -> None:
    """Let `Run.get`/`get_children` rehydrate `run_type` runs as `cls` (PipelineRun, StepRun...)."""
    _RUN_TYPES[run_type] = cls


def run_class(run_type: str | None, default: type[Run]) -> type[Run]:
    if run_type in _BUILT_IN_TYPES and run_type not in _RUN_TYPES:
        import importlib

        importlib.import_module(_BUILT_IN_TYPES[run_type])
    return _RUN_TYPES.get(run_type or "", default)


def find_record(workspace: Any, run_id: str) -> R.RunRecord:
    """The record of a run given its MLflow id or its Azure-style id (tag `aml_bridge.run_id`)."""
    record = hooks.aml_read_run(workspace=workspace, run_id=run_id) if _looks_like_backend_id(run_id) else None
    if record is None:
        found = hooks.aml_search_runs(workspace=workspace, experiment_name=None, parent_run_id=None,
                                      tags={R.TAG_AML_ID: run_id}) or []
        record = found[0] if found else None
    if record is None:
        raise UserErrorException(f"Run {run_id!r} was not found in workspace store {workspace.tracking_uri}.")
    return record


def _looks_like_backend_id(run_id: str) -> bool:
    return len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id)


def rehydrate(experiment: Experiment, record: R.RunRecord) -> Run:
    """A `Run` (or the registered subclass for its type) over an existing record."""
    from .experiment import Experiment as Exp
    from .run import Run

    if record.experiment_name != experiment.name:
        experiment = Exp(experiment.workspace, record.experiment_name, _skip_name_validation=True)
    return run_class(record.tags.get(R.TAG_TYPE), Run)(experiment, record.run_id, _record=record)


def matches(record: R.RunRecord, tags: Any, properties: Any, run_type: str | None, status: str | None) -> bool:
    """Azure's run filters (`Run.list`, `get_children`, `Experiment.get_runs`)."""
    return (_has(record.user_tags(), tags) and _has(record.properties, properties)
            and (run_type is None or record.tags.get(R.TAG_TYPE, DEFAULT_RUN_TYPE) == run_type)
            and (status is None or record.status == status))


def _has(values: dict[str, str], wanted: Any) -> bool:
    """A key name (must exist) or a {key: value} dict (must match)."""
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in values
    return all(values.get(k) == tag_value(v) for k, v in dict(wanted).items())


def tag_value(value: Any) -> str:
    """Azure stringifies tag and property values; no value is stored as ""."""
    return "" if value is None else str(value)


__all__ = ["find_record", "matches", "register_run_type", "rehydrate", "run_class", "tag_value"]
