"""Load the pipeline an unchanged Azure ML definition script builds, without running it.

The script runs as `__main__` from its own folder, with the `azureml` compatibility package
importable. Its `experiment.submit(pipeline)` / `pipeline.submit(...)` is captured: the pipeline
and the submission options come back here and the rest of the script (waiting, printing) is
skipped. A script that never submits is searched for the Pipeline it left in its globals.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import AmlBridgeError
from .pipeline import Pipeline

_capture = threading.local()


class PipelineLoadError(AmlBridgeError):
    """The definition file could not be run or built no pipeline."""


class _Captured(BaseException):
    """Raised at submission to stop the definition script; BaseException so `except Exception` can't swallow it."""

    def __init__(self, pipeline: Any, submission: Any) -> None:
        super().__init__("pipeline submission captured")
        self.pipeline = pipeline
        self.submission = submission


@dataclass
class LoadedPipeline:
    pipeline: Pipeline
    options: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def capturing() -> bool:
    return getattr(_capture, "active", False)


def capture(pipeline: Any, submission: Any) -> None:
    """Called by `submit` while a definition file is being loaded."""
    raise _Captured(pipeline, submission)


def load_pipeline(path: str) -> LoadedPipeline:
    """Run the definition script at `path` with submission captured; return its pipeline."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise PipelineLoadError(f"Pipeline definition file {path} does not exist")
    with _definition_context(path):
        try:
            namespace = runpy.run_path(path, run_name="__main__")
        except _Captured as captured:
            submission = captured.submission
            if submission is None:  # `pipeline.publish(...)`: no submission options
                return LoadedPipeline(captured.pipeline)
            return LoadedPipeline(captured.pipeline, {
                "experiment_name": submission.experiment_name,
                "continue_on_step_failure": submission.continue_on_step_failure,
                "regenerate_outputs": submission.regenerate_outputs}, dict(submission.parameters),
                dict(submission.tags))
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise PipelineLoadError(f"{path} exited with {exc.code} while building its pipeline") from exc
            namespace = {}
    pipelines = [v for v in namespace.values() if isinstance(v, Pipeline)]
    if not pipelines:
        raise PipelineLoadError(f"{path} neither submitted a pipeline nor left one in a global variable")
    return LoadedPipeline(pipelines[-1])


@contextlib.contextmanager
def _definition_context(path: str) -> Iterator[None]:
    from .. import compat

    folder = os.path.dirname(path)
    saved_cwd, saved_path, saved_argv = os.getcwd(), list(sys.path), list(sys.argv)
    os.chdir(folder)
    sys.path[:0] = [compat.path(), folder]
    sys.argv = [path]
    _capture.active = True
    try:
        yield
    finally:
        _capture.active = False
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        sys.argv = saved_argv
        _forget_compat_modules(compat.path())


def _forget_compat_modules(folder: str) -> None:
    """Unload the compat modules the script imported: outside a launched job `azureml` stays absent.

    Objects the script built keep their classes alive; only the import names go away. Only the
    compat packages' names are looked at: reading `__file__` of every module costs milliseconds
    in a process that has Airflow loaded (some of its modules compute attributes lazily).
    """
    tops = set(os.listdir(folder))
    for name in [n for n in sys.modules if n.partition(".")[0] in tops]:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(folder + os.sep):
            del sys.modules[name]


__all__ = ["LoadedPipeline", "PipelineLoadError", "capture", "capturing", "load_pipeline"]
