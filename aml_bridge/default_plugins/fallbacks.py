"""Last-resort implementations: a clear error when no tracking backend is installed."""

from __future__ import annotations

from ..errors import PluginError
from ..hookspecs import hookimpl
from ..settings import WorkspaceConfig

_MESSAGE = (
    "No aml-bridge tracking backend is registered. Install aml-bridge with its MLflow plugin "
    "(`pip install aml-bridge`) or register a plugin implementing aml_start_run."
)


@hookimpl(trylast=True)
def aml_start_run(workspace: WorkspaceConfig) -> None:
    raise PluginError(_MESSAGE)
