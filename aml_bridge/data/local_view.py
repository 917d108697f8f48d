"""Making a file dataset appear in a local folder: download (copies) or mount (links, no copy).

On a local-folder datastore a "mount" is a folder of symlinks to the real files; on storage with
no local path (S3, URLs) both modes copy. Step runners and `FileDataset.mount()` share this.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from types import TracebackType
from typing import Any

from ..errors import UserErrorException
from ._common import DOWNLOAD_MODE, MOUNT_MODE
from .sources import ResolvedFile


def place_files(files: list[ResolvedFile], target_dir: str, mode: str, overwrite: bool = False) -> list[str]:
    """Put each file at `target_dir/<relative>`; returns the local paths."""
    if mode not in (MOUNT_MODE, DOWNLOAD_MODE):
        raise UserErrorException(f"Invalid mode {mode!r}; use mount or download")
    placed = []
    remote: dict[int, tuple[Any, list[tuple[str, str]]]] = {}
    for file in files:
        dest = os.path.join(target_dir, *file.relative.split("/"))
        if os.path.lexists(dest):
            if not overwrite:
                raise UserErrorException(f"File {dest} already exists; pass overwrite=True to replace it")
            os.remove(dest)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if file.backend is not None and file.local is None:  # remote storage: one parallel batch
            remote.setdefault(id(file.backend), (file.backend, []))[1].append((file.path, dest))
        else:
            _place(file, dest, mode)
        placed.append(dest)
    for backend, pairs in remote.values():
        backend.download_files(pairs)
    return placed


def _place(file: ResolvedFile, dest: str, mode: str) -> None:
    local = file.local
    if local is None:
        urllib.request.urlretrieve(file.path, dest)  # noqa: S310 - user-given dataset URL
    elif mode == MOUNT_MODE:
        os.symlink(local, dest)
    else:
        shutil.copyfile(local, dest)


def local_view(files: list[ResolvedFile], target_dir: str, mode: str, single_file: bool = False) -> str:
    """Materialise the files; the path a script sees: the file for a one-file dataset, else the folder."""
    placed = place_files(files, target_dir, mode, overwrite=True)
    return placed[0] if single_file and len(placed) == 1 else target_dir


class MountContext:
    """What `FileDataset.mount()` returns; use it as a context manager or call start()/stop()."""

    def __init__(self, files: list[ResolvedFile], mount_point: str | None = None) -> None:
        self._files = files
        self._owned = mount_point is None
        self.mount_point = mount_point or tempfile.mkdtemp(prefix="aml_bridge_mount_")

    def start(self) -> None:
        os.makedirs(self.mount_point, exist_ok=True)
        place_files(self._files, self.mount_point, MOUNT_MODE, overwrite=True)

    def stop(self) -> None:
        if self._owned:
            shutil.rmtree(self.mount_point, ignore_errors=True)

    def __enter__(self) -> MountContext:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Any:
        self.stop()
        return None


__all__ = ["MountContext", "local_view", "place_files"]
