"""`Run`: Azure ML's run, realised as an MLflow run through the hooks.

Identity, lifecycle, tags/properties, children and queries live here; logging and files come
from the two mixins. `docs/design.md` explains ids, status tags and metric storage.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import records as R
from .context import airflow_tags
from .errors import RunEnvironmentException, UserErrorException
from .plugins import hooks
from .run_artifacts import ArtifactsMixin
from .run_details import TERMINAL, DetailsMixin, error_response
from .run_lookup import DEFAULT_RUN_TYPE, find_record, matches, rehydrate, run_class, tag_value
from .run_metrics import MetricsMixin
from .writer import get_writer

if TYPE_CHECKING:
    from .experiment import Experiment

RUNNING_STATES = ("NotStarted", "Queued", "Preparing", "Provisioning", "Starting", "Running",
                  "Unapproved", "NotResponding", "Pausing", "Paused", "CancelRequested", "Finalizing")
class Run(MetricsMixin, ArtifactsMixin, DetailsMixin):
    """A tracked run. Construct with `Run(experiment, run_id)` or get one from `get_context()`."""

    DEFAULT_TYPE = DEFAULT_RUN_TYPE

    def __init__(self, experiment: Experiment, run_id: str, outputs: Any = None, _record: R.RunRecord | None = None,
                 **kwargs: Any) -> None:
        self.experiment = experiment
        self._ws = experiment.workspace.config
        record = _record or find_record(self._ws, run_id)
        self._adopt(record)
        self._queue = get_writer().queue(self._ws, self._backend_id)
        self._flush_size = get_writer().flush_size
        self._parent: Run | None | bool = False
        self._outputs: tuple[str | None, str | None] = _outputs_folder(outputs)

    def _adopt(self, record: R.RunRecord) -> None:
        self._record = record
        self._backend_id = record.run_id
        self.tags = record.user_tags()
        self.properties = dict(record.properties)

    # --- identity ------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.tags.get(R.TAG_AML_ID) or self._backend_id

    @property
    def name(self) -> str:
        return self._record.tags.get(R.TAG_NAME, f"run_{self.id}")

    @property
    def display_name(self) -> str:
        return self._record.tags.get(R.TAG_DISPLAY_NAME, "")

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._write(tags={R.TAG_DISPLAY_NAME: str(value)})
        self._record.tags[R.TAG_DISPLAY_NAME] = str(value)

    @property
    def description(self) -> str | None:
        return self._record.tags.get("mlflow.note.content")

    @description.setter
    def description(self, value: str) -> None:
        self._write(tags={"mlflow.note.content": str(value)})
        self._record.tags["mlflow.note.content"] = str(value)

    @property
    def type(self) -> str:
        return self._record.tags.get(R.TAG_TYPE, self.DEFAULT_TYPE)

    @property
    def number(self) -> int:
        """1-based position among the experiment's runs by start time (derived, so race-free)."""
        runs = hooks.aml_search_runs(workspace=self._ws, experiment_name=self.experiment.name,
                                     parent_run_id=None, tags={}) or []
        mine = self._record.start_time or 0
        return sum(1 for r in runs if (r.start_time or 0) <= mine)

    @property
    def status(self) -> str:
        return self._record.status

    @property
    def parent(self) -> Run | None:
        if self._parent is False:
            parent_id = self._record.parent_run_id
            self._parent = rehydrate(self.experiment, find_record(self._ws, parent_id)) if parent_id else None
        return self._parent  # type: ignore[return-value]

    # --- creation ------------------------------------------------------------------------

    @classmethod
    def _create(cls, experiment: Experiment, *, name: str | None = None, run_id: str | None = None,
                parent: Run | None = None, display_name: str | None = None, status: str = "Running",
                tags: dict[str, str] | None = None, run_type: str | None = None, target: str = "sdk",
                outputs: Any = None) -> Run:
        """Create a run record through `aml_start_run` with the core's identity tags."""
        system = {R.TAG_STATUS: status, R.TAG_TARGET: target, **airflow_tags()}
        if run_type:
            system[R.TAG_TYPE] = run_type
        if run_id:
            system[R.TAG_AML_ID] = run_id
        if name is not None:
            system[R.TAG_NAME] = name
        if parent is not None:
            system[R.TAG_PARENT] = parent._backend_id
        record = hooks.aml_start_run(workspace=experiment.workspace.config, experiment_name=experiment.name,
                                     parent_run_id=parent._backend_id if parent else None,
                                     run_name=display_name, tags={**system, **(tags or {})})
        return run_class(run_type, cls)(experiment, record.run_id, outputs=outputs, _record=record)

    @classmethod
    def _start_logging(cls, experiment: Experiment, name: str | None = None, run_id: str | None = None,
                       outputs: Any = None, snapshot_directory: str | None = ".", display_name: str | None = None,
                       tags: dict[str, Any] | None = None, description: str | None = None, **kwargs: Any) -> Run:
        """`Experiment.start_logging`: a Running run with a snapshot and a tracked outputs folder."""
        run = cls._create(experiment, run_id=run_id, display_name=display_name or name,
                          tags={k: tag_value(v) for k, v in (tags or {}).items()},
                          outputs=True if outputs is None else outputs)
        if description:
            run.description = description
        if snapshot_directory is not None:
            run.take_snapshot(snapshot_directory)
        return run

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: Any = None) -> Run:
        """A child run, Running at once, named `<parent name>><child name>`."""
        return Run._create(self.experiment, name=f"{self.name or ''}>{name or ''}", run_id=run_id, parent=self,
                           display_name=name, target=self._record.tags.get(R.TAG_TARGET, "sdk"),
                           outputs=outputs)

    def create_children(self, count: int | None = None, tag_key: str | None = None,
                        tag_values: list[str] | None = None) -> list[Run]:
        """Create several Running children, numbered by `azureml.batch_child_number` or by tag."""
        if count is not None and (tag_key is not None or tag_values is not None):
            raise UserErrorException("Use either count or tag_key and tag_values, not both.")
        if count is None and (tag_key is None or tag_values is None):
            raise UserErrorException("Provide either count, or both tag_key and tag_values.")
        tagging = ([{"azureml.batch_child_number": str(i)} for i in range(count)] if count is not None
                   else [{tag_key: str(v)} for v in tag_values])  # type: ignore[union-attr,dict-item]
        if len(tagging) > 100:
            raise UserErrorException(f"create_children creates at most 100 runs at a time, got {len(tagging)}.")
        return [Run._create(self.experiment, parent=self, tags=t, target=self._record.tags.get(R.TAG_TARGET, "sdk"))
                for t in tagging]

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._set_status("Running")

    def complete(self, _set_status: bool = True) -> None:
        """Flush metrics, upload the outputs folder, then mark Completed."""
        self.flush()
        self._upload_outputs()
        if _set_status:
            self._set_status("Completed")

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        """Flush and upload, record Azure's error dict, then mark Failed."""
        self.flush()
        self._upload_outputs()
        error = error_response(error_details, error_code)
        if _set_status:
            self._set_status("Failed", error)
        else:
            self._write(tags={R.TAG_ERROR: json.dumps(error)})

    def cancel(self) -> None:
        self._set_status("Canceled")
        self.flush()
        self._upload_outputs()

    def flush(self, timeout_seconds: int = 300) -> None:
        """Block until every value this run logged is stored."""
        get_writer().flush(self._ws, self._backend_id)

    def _set_status(self, status: str, error: dict | None = None) -> None:
        hooks.aml_set_status(workspace=self._ws, run_id=self._backend_id, status=status, error=error)
        self._record.tags[R.TAG_STATUS] = status
        self._record.status = status

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            self.complete()
            return False
        if issubclass(exc_type, SystemExit) and exc.code in (None, 0):
            self.complete(_set_status=False)  # Azure's quirk: suppressed, not marked Completed
            return True
        self.fail(exc)
        return False

    # --- reading -------------------------------------------------------------------------

    def _refresh(self) -> R.RunRecord:
        self._adopt(find_record(self._ws, self._backend_id))
        return self._record

    def get_status(self) -> str:
        if self._record.status not in TERMINAL:
            self._refresh()
        return self._record.status

    def get_detailed_status(self) -> dict[str, Any]:
        return {"status": self.get_status(), "details": None}

    def get_tags(self) -> dict[str, str]:
        return dict(self._refresh().user_tags())

    def get_properties(self) -> dict[str, str]:
        return dict(self._refresh().properties)

    # --- tags and properties -------------------------------------------------------------

    def tag(self, key: str, value: Any = None) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Merge tags (values `str()`-ed; no value stores ""). `run.tags` refreshes on `get_tags()`."""
        self._write(tags={str(k): tag_value(v) for k, v in tags.items()})

    def remove_tags(self, tags: list[str]) -> None:
        hooks.aml_delete_tags(workspace=self._ws, run_id=self._backend_id, keys=list(tags))

    def add_properties(self, properties: dict[str, Any] | None) -> None:
        """Add-only: a new key is added, the same value again is a no-op, a change is an error."""
        if not properties:
            return
        values = {str(k): tag_value(v) for k, v in properties.items()}
        current = self._refresh().properties
        changed = {k: (current[k], v) for k, v in values.items() if k in current and current[k] != v}
        if changed:
            key, (old, new) = next(iter(changed.items()))
            raise UserErrorException(
                f"Property {key!r} of run {self.id} is already {old!r}; properties cannot be changed (got {new!r}).")
        self._write(properties=values)

    def _write(self, tags: dict[str, str] | None = None, properties: dict[str, str] | None = None) -> None:
        hooks.aml_log_batch(workspace=self._ws, run_id=self._backend_id, metrics=[], tags=tags or {},
                            properties=properties or {})

    # --- secrets -------------------------------------------------------------------------

    def get_secret(self, name: str) -> str:
        value = hooks.aml_get_secret(workspace=self._ws, name=name)
        if value is None:
            raise UserErrorException(f"Secret {name!r} was not found (checked the configured secret stores "
                                     "and the environment).")
        return value

    def get_secrets(self, secrets: list[str]) -> dict[str, str | None]:
        return {name: hooks.aml_get_secret(workspace=self._ws, name=name) for name in secrets}

    # --- queries -------------------------------------------------------------------------

    def get_children(self, recursive: bool = False, tags: Any = None, properties: Any = None, type: str | None = None,
                     status: str | None = None, _rehydrate_runs: bool = True) -> Iterator[Run]:
        """Direct children (or all descendants) as a generator."""
        pending = [self]
        while pending:
            parent = pending.pop(0)
            found = hooks.aml_search_runs(workspace=self._ws, experiment_name=None,
                                          parent_run_id=parent._backend_id, tags={}) or []
            for record in found:
                child = rehydrate(self.experiment, record)
                if recursive:
                    pending.append(child)
                if matches(record, tags, properties, type, status):
                    yield child

    @staticmethod
    def list(experiment: Experiment, type: str | None = None, tags: Any = None, properties: Any = None,
             status: str | None = None, include_children: bool = False, _rehydrate_runs: bool = True) -> Iterator[Run]:
        """Runs of an experiment, newest first; only top-level runs unless `include_children`."""
        found = hooks.aml_search_runs(workspace=experiment.workspace.config, experiment_name=experiment.name,
                                      parent_run_id=None, tags={}) or []
        for record in found:
            if (include_children or not record.parent_run_id) and matches(record, tags, properties, type, status):
                yield rehydrate(experiment, record)

    @staticmethod
    def get(workspace: Any, run_id: str) -> Run:
        """Find a run by its MLflow id or its Azure-style id."""
        from .experiment import Experiment

        record = find_record(workspace.config, run_id)
        experiment = Experiment(workspace, record.experiment_name, _skip_name_validation=True)
        return rehydrate(experiment, record)

    @classmethod
    def get_context(cls, allow_offline: bool = True, used_for_context_manager: bool = False, **kwargs: Any) -> Any:
        """The run of the job this process belongs to, else an offline run that prints."""
        from .submitted import submitted_run

        run = submitted_run(fresh=used_for_context_manager)
        if run is not None:
            return run
        if not allow_offline:
            raise RunEnvironmentException(
                "Run.get_context(allow_offline=False) was called outside a run launched by aml-bridge "
                "(AML_BRIDGE_RUN_ID is not set).")
        from .offline import _OfflineRun

        return _OfflineRun()

    def __str__(self) -> str:
        return f"Run(Experiment: {self.experiment.name},\nId: {self.id},\nType: {self.type},\nStatus: {self.status})"

    __repr__ = __str__


# --- module helpers ----------------------------------------------------------------------


def _outputs_folder(outputs: Any) -> tuple[str | None, str | None]:
    """Azure's `outputs` argument: True/None-ish → ./outputs, False → untracked, str → that folder."""
    if outputs is False or outputs is None:
        return None, None
    folder = "./outputs" if outputs is True or not isinstance(outputs, str) else outputs
    os.makedirs(folder, exist_ok=True)
    prefix = os.path.normpath(os.path.relpath(folder)).replace(os.sep, "/")
    if prefix.startswith(".."):
        prefix = os.path.basename(os.path.normpath(folder))
    return os.path.abspath(folder), prefix


__all__ = ["RUNNING_STATES", "Run", "TERMINAL", "error_response", "find_record", "rehydrate"]
