"""The source tree a step runs from, and its content hash (AML_API §3.7).

Files are walked in sorted order; each contributes its root-relative POSIX path, then its bytes,
to one sha256. Only the root-level `.amlignore` (else `.gitignore`) excludes files, with git's
wildmatch rules; the ignore file is hashed unless it ignores itself. mtime plays no part, renames
change the hash, an empty tree hashes to 32 zeros, and a file over 300 MB aborts.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import SnapshotException

EMPTY_HASH = "0" * 32
MAX_FILE_BYTES = 300 * 1024 * 1024
IGNORE_FILES = (".amlignore", ".gitignore")
_CHUNK = 1 << 20


def ignore_file(root: str | os.PathLike[str]) -> Path | None:
    """The root-level ignore file in force: `.amlignore` replaces `.gitignore` entirely."""
    for name in IGNORE_FILES:
        candidate = Path(root) / name
        if candidate.is_file():
            return candidate
    return None


def _spec(root: str | os.PathLike[str]):  # -> pathspec.GitIgnoreSpec | None (pathspec imported lazily)
    path = ignore_file(root)
    if path is None:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(path.read_text(encoding="utf-8", errors="replace").splitlines())


def snapshot_files(root: str | os.PathLike[str]) -> list[str]:
    """Root-relative POSIX paths of the files a snapshot holds, sorted."""
    spec = _spec(root)
    found = []
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel_folder == "." else rel_folder + "/"
        if spec is not None:
            dirs[:] = [d for d in dirs if not spec.match_file(f"{prefix}{d}/")]
        for name in files:
            rel = prefix + name
            if (spec is None or not spec.match_file(rel)) and os.path.isfile(os.path.join(folder, name)):
                found.append(rel)
    return sorted(found)


def content_hash(root: str | os.PathLike[str] | None) -> str:
    """sha256 over (path, bytes) of every snapshot file; 32 zeros for an empty or missing tree."""
    if root is None or not os.path.isdir(root):
        return EMPTY_HASH
    files = snapshot_files(root)
    if not files:
        return EMPTY_HASH
    digest = hashlib.sha256()
    for rel in files:
        full = os.path.join(root, *rel.split("/"))
        size = os.path.getsize(full)
        if size > MAX_FILE_BYTES:
            raise SnapshotException(f"File {rel} in {root} is {size} bytes; a snapshot file may not exceed "
                                    "300 MB. Move large data to a datastore or list it in .amlignore")
        digest.update(rel.encode("utf-8"))
        with open(full, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


__all__ = ["EMPTY_HASH", "IGNORE_FILES", "MAX_FILE_BYTES", "content_hash", "ignore_file", "snapshot_files"]
