"""Artifact hooks on MLflow: exact names, recursive listing, downloads (import-light)."""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import tempfile
from typing import TYPE_CHECKING

from aml_bridge.hookspecs import hookimpl

if TYPE_CHECKING:
    from aml_bridge.settings import WorkspaceConfig

log = logging.getLogger(__name__)

# --- artifacts -------------------------------------------------------------------------


@hookimpl
def aml_log_artifact(workspace: WorkspaceConfig, run_id: str, local_path: str, artifact_path: str) -> bool:
    from . import store

    client = store.client(workspace)
    target = artifact_path.strip("/")
    if os.path.isdir(local_path):
        client.log_artifacts(run_id, local_path, target or None)
        return True
    folder, name = posixpath.split(target)
    if not name:
        name = os.path.basename(local_path)
    if os.path.basename(local_path) == name:
        client.log_artifact(run_id, local_path, folder or None)
        return True
    # log_artifact keeps the local basename: stage the file under the target name.
    with tempfile.TemporaryDirectory(prefix="aml-artifact-") as staging:
        staged = os.path.join(staging, name)
        try:
            os.symlink(os.path.abspath(local_path), staged)
        except OSError:
            shutil.copyfile(local_path, staged)
        client.log_artifact(run_id, staged, folder or None)
    return True


@hookimpl
def aml_list_artifacts(workspace: WorkspaceConfig, run_id: str, prefix: str) -> list[str]:
    from . import store

    client = store.client(workspace)
    root = prefix.strip("/")
    found: list[str] = []
    folders = [root or None]
    while folders:
        folder = folders.pop()
        for info in client.list_artifacts(run_id, folder):
            (folders if info.is_dir else found).append(info.path)
    if not found and root:
        # A prefix naming a file lists nothing below it: look for it in its folder.
        parent = posixpath.dirname(root) or None
        if any(i.path == root and not i.is_dir for i in client.list_artifacts(run_id, parent)):
            return [root]
    return sorted(found)


@hookimpl
def aml_download_artifact(workspace: WorkspaceConfig, run_id: str, artifact_path: str, dst_dir: str) -> str:
    from . import store

    os.makedirs(dst_dir, exist_ok=True)
    return store.client(workspace).download_artifacts(run_id, artifact_path.strip("/"), dst_dir)


