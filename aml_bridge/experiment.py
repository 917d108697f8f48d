"""`Experiment`: a named group of runs (an MLflow experiment of the same name)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .errors import UserErrorException
from .plugins import hooks

if TYPE_CHECKING:
    from .run import Run
    from .workspace import Workspace

_NAME = re.compile(r"^[a-zA-Z0-9][\w\-]{0,254}$")


class Experiment:
    """Azure's experiment. The MLflow experiment is created when its first run starts."""

    def __init__(self, workspace: Workspace, name: str, _skip_name_validation: bool = False,
                 **kwargs: Any) -> None:
        if not _skip_name_validation and (not isinstance(name, str) or not _NAME.match(name)):
            raise UserErrorException(
                f"Experiment name {name!r} is invalid: it must be 1-255 characters, start with a letter "
                "or digit and contain only letters, digits, '_' and '-'.")
        self.workspace = workspace
        self.name = name

    def start_logging(self, *args: Any, **kwargs: Any) -> Run:
        """Create an interactive run, already Running (see `Run._start_logging`)."""
        from .run import Run

        return Run._start_logging(self, *args, **kwargs)

    def submit(self, config: Any, tags: dict[str, Any] | None = None, **kwargs: Any) -> Run:
        """Run a submittable configuration: anything with `_aml_submit(experiment, tags=..., **kwargs)`.

        Tags go to the submitter so they exist before the job starts (steps read
        `run.parent.get_tags()`); Azure applies them right after submission.
        """
        submit = getattr(config, "_aml_submit", None)
        if submit is None:
            raise UserErrorException(f"Objects of type {type(config).__name__} cannot be submitted to an experiment.")
        return submit(self, tags=tags, **kwargs)

    def get_runs(self, type: str | None = None, tags: Any = None, properties: Any = None,
                 include_children: bool = False) -> Iterator[Run]:
        """Runs of this experiment, newest first (a generator, as in Azure)."""
        from .run import Run

        return Run.list(self, type=type, tags=tags, properties=properties, include_children=include_children)

    @staticmethod
    def list(workspace: Workspace, experiment_name: str | None = None, view_type: str = "ActiveOnly",
             tags: Any = None) -> list[Experiment]:
        names = hooks.aml_list_experiments(workspace=workspace.config) or []
        return [Experiment(workspace, n, _skip_name_validation=True) for n in names
                if experiment_name is None or n == experiment_name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and (other.workspace, other.name) == (self.workspace, self.name)

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name},\nWorkspace: {self.workspace.name})"


__all__ = ["Experiment"]
