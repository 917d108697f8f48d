"""`DataPath` (a location on a datastore, usable as a PipelineParameter default) and its binding."""

from __future__ import annotations

from typing import Any

from ._common import MOUNT_MODE, stable_hex
from .data_reference import DataReference


class DataPath:
    """A path on a datastore; a `PipelineParameter(default_value=DataPath(...))` can swap it per run."""

    def __init__(self, datastore: Any = None, path_on_datastore: str | None = None,
                 name: str | None = None) -> None:
        if datastore is None:
            raise ValueError("datastore parameter is required.")
        self._datastore = datastore
        self._path_on_datastore = path_on_datastore
        # Azure appends 8 random hex chars; a stable suffix keeps DAG parses identical.
        self._name = name or f"{self.datastore_name}_{stable_hex(self.datastore_name, path_on_datastore)}"

    @property
    def datastore_name(self) -> str:
        return self._datastore if isinstance(self._datastore, str) else self._datastore.name

    @property
    def path_on_datastore(self) -> str | None:
        return self._path_on_datastore

    def create_data_reference(self, data_reference_name: str | None = None,
                              datapath_compute_binding: DataPathComputeBinding | None = None) -> DataReference:
        if not datapath_compute_binding:
            raise ValueError("datapath_compute_binding is a required parameter")
        if not isinstance(datapath_compute_binding, DataPathComputeBinding):
            raise ValueError("Invalid type. Expected datapath_compute_binding, but type is "
                             f"{type(datapath_compute_binding).__name__}")
        return DataReference.create(data_reference_name, self, datapath_compute_binding)

    def as_mount(self) -> DataReference:
        """aml-bridge convenience (Azure's DataPath has none): a mount-mode DataReference."""
        return DataReference(self._datastore, self._name, self.path_on_datastore)

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        """aml-bridge convenience (Azure's DataPath has none): a download-mode DataReference."""
        return DataReference(self._datastore, self._name, self.path_on_datastore).as_download(path_on_compute)

    @staticmethod
    def create_from_data_reference(data_reference: DataReference) -> DataPath:
        if not isinstance(data_reference, DataReference):
            raise ValueError(f"Invalid type. Expected DataReference, but type is {type(data_reference).__name__}")
        return DataPath(data_reference.datastore, data_reference.path_on_datastore)

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {"name": self._name, "path_on_datastore": self.path_on_datastore, "datastore": self.datastore_name}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataPath) and (self.datastore_name, self.path_on_datastore) == (
            other.datastore_name, other.path_on_datastore)

    def __hash__(self) -> int:
        return hash((self.datastore_name, self.path_on_datastore))

    def __repr__(self) -> str:
        return f"DataPath(datastore={self.datastore_name!r}, path_on_datastore={self.path_on_datastore!r})"


class DataPathComputeBinding:
    """How a `DataPath` is made available to a step: mount (default) or download."""

    def __init__(self, mode: str = MOUNT_MODE, path_on_compute: str | None = None, overwrite: bool = False) -> None:
        self._mode = mode
        self._path_on_compute = path_on_compute
        self._overwrite = overwrite

    def create_data_reference(self, data_reference_name: str | None = None,
                              datapath: DataPath | None = None) -> DataReference:
        if not datapath:
            raise ValueError("datapath is a required parameter")
        if not isinstance(datapath, DataPath):
            raise ValueError(f"Invalid type. Expected DataReference, but type is {type(datapath).__name__}")
        return DataReference.create(data_reference_name, datapath, self)

    @staticmethod
    def create_from_data_reference(data_reference: DataReference) -> DataPathComputeBinding:
        if not isinstance(data_reference, DataReference):
            raise ValueError(f"Invalid type. Expected DataReference, but type is {type(data_reference).__name__}")
        return DataPathComputeBinding(data_reference.mode, data_reference.path_on_compute, data_reference.overwrite)


__all__ = ["DataPath", "DataPathComputeBinding"]
