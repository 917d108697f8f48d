"""`PipelineData`: an intermediate folder one step writes and later steps read.

Its location is per step run on a datastore (`azureml/{run-id}/{output-name}`), never XCom.
A consumer can take it as-is (mount), through a binding (`as_mount`/`as_download`/`as_input`),
or promoted to a dataset (`as_dataset()`).
"""

from __future__ import annotations

import copy
from typing import Any

from .naming import dataref_env_var, is_valid_port_name

OUTPUT_MODES = ("mount", "upload")
INPUT_MODES = ("mount", "download")


def _check_name(value: str | None, what: str) -> None:
    if not is_valid_port_name(value):
        raise ValueError(f"[{value}] is not a valid {what}: it must be non-empty and contain only letters, "
                         "digits and underscore")


class PipelineData:
    """An intermediate output; `str()` is `$AZUREML_DATAREFERENCE_<name>`."""

    def __init__(self, name: str, datastore: Any = None, output_name: str | None = None,
                 output_mode: str = "mount", output_path_on_compute: str | None = None,
                 output_overwrite: bool | None = None, data_type: str | None = None,
                 is_directory: bool | None = None, pipeline_output_name: str | None = None,
                 training_output: Any = None) -> None:
        _check_name(name, "PipelineData name")
        if output_name is not None:
            _check_name(output_name, "PipelineData output_name")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"Invalid output_mode [{output_mode}] for PipelineData {name}; use one of {OUTPUT_MODES}")
        self._name = name
        self._datastore = datastore
        self._output_name = output_name or name
        self._output_mode = output_mode
        self._output_path_on_compute = output_path_on_compute
        self._output_overwrite = output_overwrite
        self._data_type = data_type or "AnyDirectory"
        self._is_directory = is_directory
        self._pipeline_output_name = pipeline_output_name
        self._producer: Any = None

    name = property(lambda self: self._name)
    datastore = property(lambda self: self._datastore)
    data_type = property(lambda self: self._data_type)
    is_directory = property(lambda self: self._is_directory)

    @property
    def datastore_name(self) -> str | None:
        store = self._datastore
        return None if store is None else store if isinstance(store, str) else store.name

    def _set_producer(self, step: Any) -> None:
        if self._producer is not None and self._producer is not step:
            raise ValueError(f"Step output {self._name} can not be used as an output for step {step.name}, "
                             f"as it is already an output of step {self._producer.name}.")
        self._producer = step

    def get_env_variable_name(self) -> str:
        """`$AZUREML_DATAREFERENCE_<name>` (Azure includes the `$`)."""
        return "$" + dataref_env_var(self._name)

    def __str__(self) -> str:
        return self.get_env_variable_name()

    __repr__ = __str__

    def create_input_binding(self, input_name: str | None = None, mode: str | None = None,
                             path_on_compute: str | None = None, overwrite: bool | None = None) -> InputPortBinding:
        return InputPortBinding(input_name or self._name, self, mode or "mount", path_on_compute, overwrite)

    def as_mount(self, input_name: str | None = None) -> InputPortBinding:
        return self.create_input_binding(input_name, "mount")

    def as_download(self, input_name: str | None = None, path_on_compute: str | None = None,
                    overwrite: bool | None = None) -> InputPortBinding:
        return self.create_input_binding(input_name, "download", path_on_compute, overwrite)

    def as_input(self, input_name: str) -> InputPortBinding:
        return self.create_input_binding(input_name)

    def as_dataset(self) -> PipelineOutputFileDataset:
        """Promote the output to a FileDataset (consumers get `run.input_datasets[name]`)."""
        return PipelineOutputFileDataset(self)


class InputPortBinding:
    """How a consumer step receives a PipelineData: port name, mount/download, local path."""

    def __init__(self, name: str, bind_object: Any, bind_mode: str = "mount", path_on_compute: str | None = None,
                 overwrite: bool | None = None, is_resource: bool = False, **kwargs: Any) -> None:
        if bind_mode not in INPUT_MODES:
            raise ValueError(f"Invalid bind_mode [{bind_mode}] for input {name}; use one of {INPUT_MODES}")
        self.name = name
        self.bind_object = bind_object
        self.bind_mode = bind_mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite
        self.is_resource = is_resource

    @property
    def data_reference_name(self) -> str:
        return self.name

    def get_env_variable_name(self) -> str:
        return "$" + dataref_env_var(self.name)

    def __str__(self) -> str:
        return self.get_env_variable_name()

    __repr__ = __str__


class PipelineOutputFileDataset:
    """A PipelineData promoted to a FileDataset; as an input it mounts by default."""

    _is_tabular = False

    def __init__(self, pipeline_data: PipelineData, name: str | None = None, mode: str = "mount",
                 path_on_compute: str | None = None, fmt: dict[str, Any] | None = None) -> None:
        self._pipeline_data = pipeline_data
        self.name = name or pipeline_data.name
        self.mode = mode
        self.path_on_compute = path_on_compute
        self._format = fmt

    pipeline_data = property(lambda self: self._pipeline_data)

    def _clone(self, **changes: Any) -> Any:
        clone = copy.copy(self)
        clone.__dict__.update(changes)
        return clone

    def as_named_input(self, name: str) -> Any:
        return self._clone(name=name)

    def as_mount(self, path_on_compute: str | None = None) -> Any:
        return self._clone(mode="mount", path_on_compute=path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> Any:
        return self._clone(mode="download", path_on_compute=path_on_compute)

    def as_direct(self) -> Any:
        return self._clone(mode="direct")

    def parse_delimited_files(self, include_path: bool = False, separator: str = ",", header: Any = True,
                              partition_format: str | None = None, **kwargs: Any) -> PipelineOutputTabularDataset:
        from ..data.types import header_mode

        fmt = {"kind": "delimited", "separator": separator, "header": header_mode(header),
               "include_path": include_path, "partition_format": partition_format}
        return PipelineOutputTabularDataset(self._pipeline_data, self.name, "direct", None, fmt)

    def parse_parquet_files(self, include_path: bool = False, partition_format: str | None = None,
                            **kwargs: Any) -> PipelineOutputTabularDataset:
        fmt = {"kind": "parquet", "include_path": include_path, "partition_format": partition_format}
        return PipelineOutputTabularDataset(self._pipeline_data, self.name, "direct", None, fmt)

    def __str__(self) -> str:
        return f"DatasetConsumptionConfig:{self.name}"


class PipelineOutputTabularDataset(PipelineOutputFileDataset):
    """A PipelineData promoted to a TabularDataset; consumers get it in direct mode."""

    _is_tabular = True


__all__ = ["INPUT_MODES", "InputPortBinding", "OUTPUT_MODES", "PipelineData", "PipelineOutputFileDataset",
           "PipelineOutputTabularDataset"]
