"""Snapshots of a source folder: Azure's ignore-file rules and size limits, zipped.

Azure reads `.amlignore` if present, else `.gitignore`, only at the root, with git's wildcard
syntax; the ignore file itself is included unless it excludes itself.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pathspec

from .errors import SnapshotException

MAX_FILES = 2000
MAX_BYTES = 300 * 1024 * 1024


def ignore_spec(root: str | os.PathLike[str]) -> pathspec.PathSpec:
    """The root-level `.amlignore` (else `.gitignore`) as a matcher; empty when neither exists."""
    for name in (".amlignore", ".gitignore"):
        path = Path(root) / name
        if path.is_file():
            return pathspec.GitIgnoreSpec.from_lines(path.read_text().splitlines())
    return pathspec.GitIgnoreSpec.from_lines([])


def iter_files(root: str | os.PathLike[str]) -> Iterator[str]:
    """Root-relative POSIX paths of the files a snapshot keeps, in sorted order."""
    root = os.fspath(root)
    spec = ignore_spec(root)
    for directory, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(directory, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        dirs[:] = sorted(d for d in dirs if not spec.match_file(f"{rel_dir}{d}/"))
        for name in sorted(files):
            relative = rel_dir + name
            if not spec.match_file(relative):
                yield relative


def make_zip(source: str, destination: str) -> str:
    """Zip a file or folder into `destination`, refusing more than Azure's limits."""
    if os.path.isfile(source):
        members = [(source, os.path.basename(source))]
    elif os.path.isdir(source):
        members = [(os.path.join(source, rel), rel) for rel in iter_files(source)]
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


__all__ = ["MAX_BYTES", "MAX_FILES", "ignore_spec", "iter_files", "make_zip"]
