"""Small helpers shared by the data classes: Azure's name rule, modes, workspace access, stable ids.

Generated names and ids are derived from content (not uuid4) wherever a pipeline definition can
see them: Airflow parses a DAG file in many processes, and every parse must build the same plan.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from typing import Any, Protocol

from ..errors import UserErrorException
from ..settings import WorkspaceConfig

logger = logging.getLogger(__name__)

MOUNT_MODE = "mount"
DOWNLOAD_MODE = "download"
DIRECT_MODE = "direct"
UPLOAD_MODE = "upload"
HDFS_MODE = "hdfs"

DEFAULT_DATASTORE_NAME = "workspaceblobstore"
# Names Azure warns about because they collide with common environment variables.
_PROHIBITED_NAMES = {"path", "home", "user", "pwd", "shell", "lang", "tmp", "temp", "hostname"}
_NAME_RE = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")


class HasConfig(Protocol):
    """What aml-bridge needs from a workspace object: its resolved configuration."""

    config: WorkspaceConfig


def config_of(workspace: Any) -> WorkspaceConfig:
    """The `WorkspaceConfig` of a workspace object (or the config itself)."""
    if isinstance(workspace, WorkspaceConfig):
        return workspace
    config = getattr(workspace, "config", None)
    if isinstance(config, WorkspaceConfig):
        return config
    raise UserErrorException(f"Expected a Workspace, got {type(workspace).__name__}")


def validate_name(name: str | None, purpose: str) -> str:
    """Azure's rule for dataset input/output names: they become environment variable names."""
    if not name:
        raise UserErrorException(f"Invalid {purpose} name. Name cannot be empty or None, please use a valid name.")
    if name.lower() in _PROHIBITED_NAMES:
        logger.warning("%s name %r may collide with a common environment variable name", purpose.capitalize(), name)
    if not _NAME_RE.match(name):
        raise UserErrorException(
            f'Invalid {purpose} name "{name}". The name can only be alphanumeric characters and underscore, '
            "and must not begin with a number."
        )
    return name


def stable_hex(*parts: object, length: int = 8) -> str:
    """Hex digest of `parts`, for names that must be equal in every parse of a DAG file."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:length]


def stable_uuid(*parts: object) -> str:
    """A UUID-formatted id derived from `parts` (Azure ids are UUIDs; ours are reproducible)."""
    return str(uuid.UUID(hex=stable_hex(*parts, length=32)))


def normalize_path(path: str | None) -> str:
    """A datastore-relative POSIX path: no leading `/` or `./`, no `..` escaping the root."""
    text = (path or "").replace("\\", "/")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UserErrorException(f"Path {path!r} escapes the datastore root")
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def join_path(*parts: str | None) -> str:
    return normalize_path("/".join(p for p in parts if p))


__all__ = [
    "DEFAULT_DATASTORE_NAME", "DIRECT_MODE", "DOWNLOAD_MODE", "HDFS_MODE", "HasConfig", "MOUNT_MODE",
    "UPLOAD_MODE", "config_of", "join_path", "normalize_path", "stable_hex", "stable_uuid", "validate_name",
]
