"""Where an S3 datastore's credentials come from, without ever writing them anywhere visible.

Order: a datastore with `connection_id` uses that connection — first from the private file a step's
parent process handed down (`AML_BRIDGE_S3_CREDENTIALS`: a 0600 JSON file, removed after the step),
else through the `aml_storage_credentials` hook (the Airflow plugin reads Airflow connections).
Without `connection_id`, boto3's standard chain (environment, shared credentials file, profile,
instance role). Credentials live only in boto3 sessions: never in specs, records, tags or the
step environment.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import UserErrorException
from ..settings import AML_BRIDGE_S3_CREDENTIALS, WorkspaceConfig

CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


def _handed_down() -> dict[str, Any]:
    path = AML_BRIDGE_S3_CREDENTIALS.get()
    if not path or not os.path.isfile(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


def connection_credentials(workspace: WorkspaceConfig, connection_id: str) -> dict[str, Any]:
    """Keys `aws_access_key_id`, `aws_secret_access_key`, optional `aws_session_token`,
    `region_name`, `endpoint_url` of connection `connection_id`."""
    from ..plugins import hooks

    found = _handed_down().get(connection_id)
    if found is None:
        found = hooks.aml_storage_credentials(workspace=workspace, connection_id=connection_id)
    if found is None:
        raise UserErrorException(f"Connection {connection_id!r} for an S3 datastore was not found (no plugin "
                                 "provides it; with Airflow, define it as an Airflow connection)")
    return found


def session_kwargs(workspace: WorkspaceConfig, spec: dict[str, Any]) -> dict[str, Any]:
    """`boto3.Session(**kwargs)` for a datastore spec: a connection's keys or the standard chain.

    A connection's `endpoint_url` comes back under that key (not a Session argument: pop it)."""
    kwargs: dict[str, Any] = {}
    if spec.get("connection_id"):
        found = connection_credentials(workspace, spec["connection_id"])
        kwargs.update({k: found[k] for k in CREDENTIAL_KEYS if found.get(k)})
        kwargs.update({k: found[k] for k in ("region_name", "endpoint_url") if found.get(k)})
    elif spec.get("profile"):
        kwargs["profile_name"] = spec["profile"]
    return kwargs


def connection_ids(specs: list[dict[str, Any]]) -> list[str]:
    return sorted({s["connection_id"] for s in specs if s.get("type") == "s3" and s.get("connection_id")})


@contextmanager
def handed_down(workspace: WorkspaceConfig, ids: list[str]) -> Iterator[dict[str, str]]:
    """Env for a child process that needs connections `ids`: only the path of a private file."""
    if not ids:
        yield {}
        return
    existing = _handed_down()
    payload = {cid: existing.get(cid) or connection_credentials(workspace, cid) for cid in ids}
    with tempfile.TemporaryDirectory(prefix="aml-creds-") as folder:
        path = os.path.join(folder, "s3.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle)
        yield {AML_BRIDGE_S3_CREDENTIALS.name: path}


__all__ = ["connection_credentials", "connection_ids", "handed_down",
           "session_kwargs"]
