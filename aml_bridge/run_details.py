"""The read-only views of a run Azure code polls: details, logs, waiting, the portal link."""

from __future__ import annotations

import getpass
import json
import os
import time
import traceback
from datetime import datetime, timezone
from typing import Any

from . import records as R
from .errors import ActivityFailedException

TERMINAL = ("Completed", "Failed", "Canceled")


class DetailsMixin:
    """Needs `_refresh`, `_record`, `_ws`, `_backend_id`, `id`, `experiment`, `get_file_names`, `download_file`."""

    def get_details(self) -> dict[str, Any]:
        """Azure's details dict; `endTimeUtc` only once the run has ended."""
        record = self._refresh()
        details: dict[str, Any] = {
            "runId": self.id, "target": record.tags.get(R.TAG_TARGET, "sdk"), "status": record.status,
            "startTimeUtc": _iso(record.start_time), "properties": dict(record.properties),
            "inputDatasets": [], "outputDatasets": [], "runDefinition": {}, "logFiles": self._log_files(),
            "submittedBy": record.tags.get("mlflow.user") or getpass.getuser(),
        }
        if record.status in TERMINAL and record.end_time:
            details["endTimeUtc"] = _iso(record.end_time)
        if record.tags.get(R.TAG_ERROR):
            details["error"] = json.loads(record.tags[R.TAG_ERROR])
        return {k: v for k, v in details.items() if v is not None}

    def get_details_with_logs(self) -> dict[str, Any]:
        details = self.get_details()
        details["logFiles"] = {name: self._read_text(name) for name in details["logFiles"]}
        return details

    def _log_files(self) -> dict[str, str]:
        roots = ("logs/", "user_logs/", "system_logs/", "azureml-logs/")
        return {n: f"{self._record.artifact_uri}/{n}" for n in self.get_file_names() if n.startswith(roots)}

    def _read_text(self, name: str) -> str:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            self.download_file(name, os.path.join(tmp, "log"))
            with open(os.path.join(tmp, "log"), errors="replace") as fh:
                return fh.read()

    def wait_for_completion(self, show_output: bool = False, wait_post_processing: bool = False,
                            raise_on_error: bool = True) -> dict[str, Any]:
        """Poll until the run ends; a Failed run raises `ActivityFailedException`."""
        if show_output:
            print(f"RunId: {self.id}\nWeb View: {self.get_portal_url()}\n", flush=True)
        delay = float(os.environ.get("AZUREML_RUN_POLLING_INTERVAL_MIN", "0.5"))
        ceiling = float(os.environ.get("AZUREML_RUN_POLLING_INTERVAL_MAX", "60"))
        while self.get_status() not in TERMINAL:
            time.sleep(delay)
            delay = min(delay * 1.5, ceiling)
        details = self.get_details()
        if show_output:
            for name in details["logFiles"]:
                print(self._read_text(name), end="")
            print(f"\nExecution Summary\n=================\nRunId: {self.id}\nWeb View: {self.get_portal_url()}\n")
        if details["status"] == "Failed" and raise_on_error:
            raise ActivityFailedException(error_details=json.dumps(details.get("error", {}), indent=2))
        return details

    def get_portal_url(self) -> str:
        """The run's page in the MLflow UI (with Azure's `wsid` query, which scripts parse)."""
        ws = self.experiment.workspace
        return (f"{self._ws.mlflow_ui}/#/experiments/{self._record.experiment_id}/runs/{self._backend_id}"
                f"?wsid=/subscriptions/{ws.subscription_id}/resourcegroups/{ws.resource_group}"
                f"/workspaces/{ws.name}")


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error_response(error_details: Any, error_code: str | None = None) -> dict[str, Any]:
    """Azure's ErrorResponse for `fail()`: a message string, or an exception with its stack."""
    inner: dict[str, Any] = {"code": error_code or "UserError"}
    if isinstance(error_details, BaseException):
        inner["message"] = f"User program failed with {type(error_details).__name__}: {error_details}"
        inner["debug_stack_trace"] = "".join(traceback.format_exception(
            type(error_details), error_details, error_details.__traceback__))
        inner["debug_type"] = type(error_details).__name__
        inner["debug_message"] = str(error_details)
    elif error_details is None or isinstance(error_details, str):
        inner["message"] = error_details or ""
    else:
        raise TypeError(f"error_details must be a string or an exception, got {type(error_details).__name__}")
    return {"error": inner}


__all__ = ["DetailsMixin", "TERMINAL", "error_response"]
