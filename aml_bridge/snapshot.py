"""Snapshots of a source folder: Azure's ignore-file rules, the files they keep, copies and zips.

Azure reads `.amlignore` if present, else `.gitignore`, only at the root, with git's wildcard
syntax; the ignore file itself is kept unless it excludes itself. The embedded store folder
(`.aml-bridge`, and any workspace home passed in `exclude`) is never part of a snapshot: it holds
the MLflow database, which changes with every run.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path

from .errors import SnapshotException

MAX_FILES = 2000
MAX_BYTES = 300 * 1024 * 1024
IGNORE_FILES = (".amlignore", ".gitignore")
STORE_FOLDER = ".aml-bridge"


def ignore_file(root: str | os.PathLike[str]) -> Path | None:
    """The root-level ignore file in force: `.amlignore` replaces `.gitignore` entirely."""
    for name in IGNORE_FILES:
        candidate = Path(root) / name
        if candidate.is_file():
            return candidate
    return None


def _spec(root: str | os.PathLike[str]):  # -> pathspec.GitIgnoreSpec | None (imported lazily)
    path = ignore_file(root)
    if path is None:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(path.read_text(encoding="utf-8", errors="replace").splitlines())


def snapshot_files(root: str | os.PathLike[str], exclude: Iterable[str] = ()) -> list[str]:
    """Root-relative POSIX paths of the files a snapshot keeps, sorted."""
    spec = _spec(root)
    skipped = {os.path.realpath(p) for p in exclude}
    found = []
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel_folder == "." else rel_folder + "/"
        dirs[:] = [d for d in dirs if d != STORE_FOLDER and os.path.realpath(os.path.join(folder, d)) not in skipped
                   and (spec is None or not spec.match_file(f"{prefix}{d}/"))]
        for name in files:
            rel = prefix + name
            if (spec is None or not spec.match_file(rel)) and os.path.isfile(os.path.join(folder, name)):
                found.append(rel)
    return sorted(found)


def copy_tree(source: str, target: str, exclude: Iterable[str] = ()) -> None:
    """Copy the files a snapshot of `source` keeps into `target`."""
    os.makedirs(target, exist_ok=True)
    for rel in snapshot_files(source, exclude):
        destination = os.path.join(target, rel)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.join(source, rel), destination)


def make_zip(source: str, destination: str, exclude: Iterable[str] = ()) -> str:
    """Zip a file or folder into `destination`, refusing more than Azure's limits."""
    if os.path.isfile(source):
        members = [(source, os.path.basename(source))]
    elif os.path.isdir(source):
        members = [(os.path.join(source, rel), rel) for rel in snapshot_files(source, exclude)]
    else:
        raise SnapshotException(f"Cannot snapshot {source}: no such file or folder.")
    if len(members) > MAX_FILES and not os.environ.get("AML_SNAPSHOT_NO_FILE_LIMIT"):
        raise SnapshotException(
            f"The snapshot of {source} has {len(members)} files (limit {MAX_FILES}). Add an .amlignore "
            "file, or pass snapshot_directory=None to start_logging.")
    if sum(os.path.getsize(p) for p, _ in members) > MAX_BYTES:
        raise SnapshotException(f"The snapshot of {source} is larger than 300 MB. Add an .amlignore file, "
                                "or pass snapshot_directory=None to start_logging.")
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in members:
            archive.write(path, name)
    return destination


__all__ = ["IGNORE_FILES", "MAX_BYTES", "MAX_FILES", "copy_tree", "ignore_file", "make_zip", "snapshot_files"]
