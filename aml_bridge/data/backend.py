"""The storage seam under a Datastore: a few primitives over datastore-relative POSIX paths.

`Datastore`, `Dataset` and the dataset registry are written against `DatastoreBackend` only;
`LocalFolderBackend` is the embedded default (a folder under the workspace home), `S3Backend`
(s3_backend.py) the production one. Batch primitives (`upload_files`, `download_files`) exist so
a remote backend can move many files in parallel.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import shutil
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from ..errors import UserErrorException
from ._common import join_path, normalize_path

_CHUNK = 1 << 20


@runtime_checkable
class DatastoreBackend(Protocol):
    """Primitives a datastore location must offer; paths are datastore-relative POSIX paths."""

    def uri(self, path: str = "") -> str:
        """A URI naming `path` (file:// for local folders, s3:// for S3)."""

    def exists(self, path: str) -> bool:
        """Whether `path` is a file or a non-empty folder."""

    def list(self, prefix: str = "") -> builtins.list[str]:
        """Every file at or under `prefix` (a file or folder path), recursively, sorted."""

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        """Open a file: "rb" reads, "wb" writes, "xb" creates only if absent (FileExistsError)."""

    def upload_file(self, local_path: str, path: str, overwrite: bool = False) -> bool:
        """Copy a local file to `path`; returns False (and copies nothing) if it exists and not overwrite."""

    def upload_files(self, pairs: builtins.list[tuple[str, str]], overwrite: bool = False) -> builtins.list[str]:
        """Copy (local file, path) pairs (in parallel where the storage allows); returns the paths written."""

    def upload_dir(self, local_dir: str, prefix: str, overwrite: bool = False) -> builtins.list[str]:
        """Copy a local folder's files under `prefix`; returns the datastore paths written."""

    def download(self, path: str, local_dir: str, overwrite: bool = False) -> builtins.list[str]:
        """Copy the files at or under `path` into `local_dir`, keeping their full datastore path."""

    def download_files(self, pairs: builtins.list[tuple[str, str]]) -> builtins.list[str]:
        """Copy (path, local destination) pairs, replacing existing destinations; returns the destinations."""

    def content_id(self, path: str) -> str:
        """Identity of the content at or under `path` (digest; S3 would combine ETags) for reuse keys."""

    def local_path(self, path: str) -> str | None:
        """The real local path of `path` when the storage is a local folder (mount = no copy), else None."""

    def delete(self, path: str) -> None:
        """Remove the file at `path` (missing files are ignored)."""


class LocalFolderBackend:
    """A datastore kept in a local folder; "mount" hands out the real path."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalFolderBackend({str(self.root)!r})"

    def _abs(self, path: str) -> Path:
        rel = normalize_path(path)
        return self.root / rel if rel else self.root

    def uri(self, path: str = "") -> str:
        return self._abs(path).as_uri()

    def local_path(self, path: str) -> str | None:
        return str(self._abs(path))

    def exists(self, path: str) -> bool:
        target = self._abs(path)
        return target.is_file() or (target.is_dir() and any(target.iterdir()))

    def list(self, prefix: str = "") -> builtins.list[str]:
        target = self._abs(prefix)
        if target.is_file():
            return [normalize_path(prefix)]
        if not target.is_dir():
            return []
        found = [p.relative_to(self.root).as_posix() for p in target.rglob("*") if p.is_file()]
        return sorted(found)

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        if mode not in ("rb", "wb", "xb"):
            raise UserErrorException(f"Unsupported open mode {mode!r}; use 'rb', 'wb' or 'xb'")
        target = self._abs(path)
        if mode != "rb":
            target.parent.mkdir(parents=True, exist_ok=True)
        return open(target, mode)  # noqa: SIM115 - the caller owns the handle

    def upload_file(self, local_path: str, path: str, overwrite: bool = False) -> bool:
        target = self._abs(path)
        if target.exists() and not overwrite:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        if Path(local_path).resolve() != target:
            shutil.copyfile(local_path, target)
        return True

    def upload_files(self, pairs: builtins.list[tuple[str, str]], overwrite: bool = False) -> builtins.list[str]:
        return [normalize_path(path) for local, path in pairs if self.upload_file(local, path, overwrite)]

    def upload_dir(self, local_dir: str, prefix: str, overwrite: bool = False) -> builtins.list[str]:
        base = Path(local_dir)
        files = sorted(p for p in base.rglob("*") if p.is_file())
        return self.upload_files([(str(f), join_path(prefix, f.relative_to(base).as_posix())) for f in files],
                                 overwrite)

    def download(self, path: str, local_dir: str, overwrite: bool = False) -> builtins.list[str]:
        pairs = [(rel, str(Path(local_dir) / rel)) for rel in self.list(path)]
        return self.download_files([(rel, dest) for rel, dest in pairs if overwrite or not os.path.exists(dest)])

    def download_files(self, pairs: builtins.list[tuple[str, str]]) -> builtins.list[str]:
        for rel, dest in pairs:
            Path(dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self._abs(rel), dest)
        return [dest for _, dest in pairs]

    def delete(self, path: str) -> None:
        target = self._abs(path)
        if target.is_file():
            target.unlink()

    def content_id(self, path: str) -> str:
        digest = hashlib.sha256()
        base = normalize_path(path)
        for rel in self.list(path):
            digest.update(rel[len(base):].encode())
            with open(self._abs(rel), "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        return "sha256:" + digest.hexdigest()


__all__ = ["DatastoreBackend", "LocalFolderBackend"]
