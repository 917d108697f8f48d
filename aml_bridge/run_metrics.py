"""The `log_*` and `get_metrics` half of `Run`: Azure's validation, buffered typed writes."""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

from . import metric_values as mv
from .errors import AzureMLException, UserErrorException
from .plugins import hooks
from .records import ARTIFACT, ROW, SCALAR, Metric
from .writer import get_writer

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


class Artifact:
    """What `get_metrics(populate=True)` returns for image and JSON metrics."""

    def __init__(self, uri: str, data: bytes) -> None:
        self.uri = uri
        self.data = data

    def convert_to_object(self) -> Any:
        return json.loads(self.data)

    def __repr__(self) -> str:
        return f"Artifact({self.uri!r}, {len(self.data)} bytes)"


class MetricsMixin:
    """Needs `_ws`, `_backend_id`, `_queue`, `id` and the artifact helpers of `ArtifactsMixin`."""

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log one value; repeated calls build a series. Buffered: `flush()` makes it durable."""
        queue = self._queue
        queue.append(Metric(name, mv.scalar_for_log(name, value), step, time.time(), SCALAR))
        if len(queue) >= self._flush_size:
            get_writer().notify()

    def _extend(self, records: list[Metric]) -> None:
        """Queue several values at once (validated first, so a bad one queues nothing)."""
        self._queue.extend(records)
        if len(self._queue) >= self._flush_size:
            get_writer().notify()

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        """Log a list of scalars (ints become floats when any element is a float)."""
        now = time.time()
        self._extend([Metric(name, v, None, now, SCALAR) for v in mv.list_values(name, value)])

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log one row of a table; rows read back column-wise."""
        self._queue.append(Metric(name, mv.row_values(name, kwargs), None, time.time(), ROW))

    def log_table(self, name: str, value: dict[str, Any], description: str = "") -> None:
        """Log a dict of equal-length columns."""
        now = time.time()
        self._extend([Metric(name, row, None, now, ROW) for row in mv.table_rows(name, value)])

    def log_image(self, name: str, path: str | None = None, plot: Any = None, description: str = "") -> None:
        """Log an image file (artifact named exactly `path`) or a figure (`<name>_<epoch>.png`)."""
        if (path is None) == (plot is None):
            raise AzureMLException("Invalid parameters, path or plot must be provided, but not both.",
                                   error_code="TwoInvalidParameter")
        if path is not None:
            _check_image(path)
            artifact = os.path.basename(path) if os.path.isabs(path) else os.path.normpath(path).replace(os.sep, "/")
            self._upload_new(artifact, path)
        else:
            if not hasattr(plot, "savefig"):
                raise AzureMLException("plot must have a savefig method (a matplotlib figure or pyplot).",
                                       error_code="ArgumentInvalid")
            artifact = f"{name}_{int(time.time())}.png"
            with tempfile.TemporaryDirectory() as tmp:
                local = os.path.join(tmp, "plot.png")
                plot.savefig(local, format="png")
                self._upload_new(artifact, local)
        self._queue.append(Metric(name, self._aml_uri(artifact), None, time.time(), ARTIFACT))

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self._log_json_metric(name, value, "confusion_matrix")

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        self._log_json_metric(name, value, "accuracy_table")

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        self._log_json_metric(name, value, "residuals")

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        self._log_json_metric(name, value, "predictions")

    def _log_json_metric(self, name: str, value: Any, kind: str) -> None:
        """Keep Azure's JSON as artifact `<name>` and a rendered `<name>.png` for people."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise UserErrorException("Invalid JSON provided") from None
        text = json.dumps(value)
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, "metric.json")
            with open(local, "w") as fh:
                fh.write(text)
            self._upload_new(name, local)
            figure = os.path.join(tmp, "figure.png")
            from .figures import render

            if render(kind, value, figure) and not self._artifact_exists(f"{name}.png"):
                hooks.aml_log_artifact(workspace=self._ws, run_id=self._backend_id, local_path=figure,
                                       artifact_path=f"{name}.png")
        self._queue.append(Metric(name, self._aml_uri(name), None, time.time(), ARTIFACT))

    def get_metrics(self, name: str | None = None, recursive: bool = False, run_type: str | None = None,
                    populate: bool = False) -> dict[str, Any]:
        """Azure's collapsed view; `recursive=True` maps run id → metrics over all descendants."""
        if recursive:
            runs = [self, *self.get_children(recursive=True)]
            result = {}
            for run in runs:
                if run_type is not None and run.type != run_type:
                    continue
                metrics = run.get_metrics(name=name, populate=populate)
                if metrics:
                    result[run.id] = metrics
            return result
        self.flush()
        records = hooks.aml_read_metrics(workspace=self._ws, run_id=self._backend_id) or []
        if name is not None:
            records = [r for r in records if r.name == name]
        return mv.collapse(records, self._populate if populate else None)

    def _populate(self, uri: str) -> Artifact:
        path = uri.split(f"/dcid.{self.id}/", 1)[-1]
        with tempfile.TemporaryDirectory() as tmp:
            local = hooks.aml_download_artifact(workspace=self._ws, run_id=self._backend_id,
                                                artifact_path=path, dst_dir=tmp)
            with open(local, "rb") as fh:
                return Artifact(uri, fh.read())

    def _aml_uri(self, artifact_path: str) -> str:
        return f"aml://artifactId/ExperimentRun/dcid.{self.id}/{artifact_path}"


def _check_image(path: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise AzureMLException(f"Cannot read image {path}: {exc}", error_code="MalformedArgument") from exc
    is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not (is_webp or any(head.startswith(m) for m in _IMAGE_MAGIC)):
        raise AzureMLException(f"The file {path} is not a recognised image (png, jpeg, gif, bmp, tiff, webp).",
                               error_code="MalformedArgument")
