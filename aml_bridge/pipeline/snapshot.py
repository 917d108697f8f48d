"""The source tree a step runs from, and its content hash (AML_API §3.7).

Files are walked in sorted order; each contributes its root-relative POSIX path, then its bytes,
to one sha256. Only the root-level `.amlignore` (else `.gitignore`) excludes files, with git's
wildmatch rules; the ignore file is hashed unless it ignores itself. mtime plays no part, renames
change the hash, an empty tree hashes to 32 zeros, and a file over 300 MB aborts.
"""

from __future__ import annotations

import hashlib
import os

from ..errors import SnapshotException
from ..snapshot import IGNORE_FILES, ignore_file, snapshot_files

EMPTY_HASH = "0" * 32
MAX_FILE_BYTES = 300 * 1024 * 1024
_CHUNK = 1 << 20


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
