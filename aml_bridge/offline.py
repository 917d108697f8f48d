"""`_OfflineRun`: `Run.get_context()` with no job around it, exactly as Azure's (AML_API §1.11).

It prints what it would have logged, so `python train.py` runs unchanged on a laptop. It is not
a `Run`: every method Azure's offline run lacks raises AttributeError here too.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

log = logging.getLogger(__name__)


class _OfflineRun:
    """A run that only prints; `id` is `OfflineRun_<uuid4>`."""

    def __init__(self, run_id: str | None = None) -> None:
        self.id = run_id or f"OfflineRun_{uuid.uuid4()}"

    def log(self, name: str, value: Any, description: str = "") -> None:
        print(f"Attempted to log scalar metric {name}:\n{value}")

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        print(f"Attempted to log list metric {name}:\n{value}")

    def log_table(self, name: str, value: Any, description: str = "") -> None:
        print(f"Attempted to log table metric {name}:\n{value}")

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        print(f"Attempted to log row metric {name}:\n{kwargs}")

    def log_image(self, name: str, path: str | None = None, plot: Any = None, description: str = "") -> None:
        print(f"Attempted to log image metric {name}:\n{plot or path}")

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        print(f"Attempted to log residual metric {name}:\n{value}")

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        print(f"Attempted to log predictions metric {name}:\n{value}")

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        print(f"Attempted to log accuracy_table metric {name}:\n{value}")

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        print(f"Attempted to log confusion_matrix metric {name}:\n{value}")

    def tag(self, key: str, value: Any = None) -> None:
        print(f"Attempted to add tag {key} with value {value}")

    def set_tags(self, tags: Any) -> None:
        print(f"Attempted to set tags {tags}")

    def add_properties(self, properties: Any) -> None:
        print(f"Attempted to add properties {properties}")

    def upload_file(self, name: str, path_or_stream: Any) -> None:
        print(f"Attempted to track file {name} at {path_or_stream}")

    def upload_files(self, names: Any, paths: Any, return_artifacts: bool = False,
                     timeout_seconds: int | None = None) -> None:
        print(f"Attempted to track files {names} at {paths} with timeout {timeout_seconds}s")

    def upload_folder(self, name: str, path: str) -> None:
        print(f"Attempted to track folder {name} at {path}")

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        print(f"Run failed with error code {error_code}:\n{error_details}")

    def complete(self) -> None:
        log.debug("Offline run %s completed", self.id)

    def cancel(self) -> None:
        log.debug("Offline run %s canceled", self.id)

    def flush(self) -> None:
        print(f"Attempted to flush run with id {self.id}")

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: Any = None) -> _OfflineRun:
        return _OfflineRun(run_id or f"{self.id}.{name or uuid.uuid4()}")

    def __enter__(self) -> _OfflineRun:
        print(f"[START] Run {self.id} context")
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        print(f"[STOP] Run {self.id} context")
        return False


__all__ = ["_OfflineRun"]
