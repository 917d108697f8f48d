"""`DataReference`: a path on a datastore plus how a step sees it (mount, download, upload).

Kept from Azure for legacy pipelines; `str()` is `$AZUREML_DATAREFERENCE_<name>` and the step
process gets that variable with the local path.
"""

from __future__ import annotations

from typing import Any

from ..errors import UserErrorException
from ._common import DOWNLOAD_MODE, MOUNT_MODE, UPLOAD_MODE, stable_hex

SUPPORTED_MODES = (MOUNT_MODE, DOWNLOAD_MODE, UPLOAD_MODE)


def _is_current_path(path: str | None) -> bool:
    return path in ("/", ".", "./")


class DataReference:
    """A reference to `path_on_datastore` on `datastore`, consumed in `mode`."""

    def __init__(self, datastore: Any, data_reference_name: str | None = None,
                 path_on_datastore: str | None = None, mode: str = MOUNT_MODE,
                 path_on_compute: str | None = None, overwrite: bool = False) -> None:
        if mode not in SUPPORTED_MODES:
            raise UserErrorException(f"Invalid mode {mode}. Only mount, download, upload are supported")
        self.datastore = datastore
        self.path_on_datastore = path_on_datastore
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite
        if not data_reference_name and path_on_datastore and not _is_current_path(path_on_datastore):
            # Azure uses a random uuid hex; ours is derived from the location so every parse agrees.
            data_reference_name = stable_hex(self.datastore_name, path_on_datastore, length=32)
        self.data_reference_name = data_reference_name or self.datastore_name

    @property
    def datastore_name(self) -> str:
        return self.datastore if isinstance(self.datastore, str) else self.datastore.name

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        """A reference to `path` below this one."""
        if not path or _is_current_path(path):
            if data_reference_name:
                return DataReference(self.datastore, data_reference_name)
            return self
        if self.path_on_datastore and not _is_current_path(self.path_on_datastore):
            path = f"{self.path_on_datastore}/{path}"
        return DataReference(self.datastore, data_reference_name, path_on_datastore=path)

    def as_download(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        return self._clone(mode=DOWNLOAD_MODE, path_on_compute=path_on_compute)

    def as_upload(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        return self._clone(mode=UPLOAD_MODE, path_on_compute=path_on_compute)

    def as_mount(self) -> DataReference:
        return self._clone(mode=MOUNT_MODE)

    def _clone(self, **changes: Any) -> DataReference:
        values = {"datastore": self.datastore, "data_reference_name": self.data_reference_name,
                  "path_on_datastore": self.path_on_datastore, "mode": self.mode,
                  "path_on_compute": self.path_on_compute, "overwrite": self.overwrite}
        values.update(changes)
        return DataReference(**values)

    @staticmethod
    def create(data_reference_name: str | None = None, datapath: Any = None,
               datapath_compute_binding: Any = None) -> DataReference:
        """A DataReference from a `DataPath` and a `DataPathComputeBinding`."""
        if datapath is None or datapath_compute_binding is None:
            raise ValueError("datapath and datapath_compute_binding are expected parameters")
        return DataReference(datapath._datastore, data_reference_name, datapath.path_on_datastore,
                             datapath_compute_binding._mode, datapath_compute_binding._path_on_compute,
                             datapath_compute_binding._overwrite)

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    __repr__ = __str__


__all__ = ["DataReference", "SUPPORTED_MODES"]
