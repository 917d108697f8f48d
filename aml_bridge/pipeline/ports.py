"""Step inputs and outputs, normalised: every accepted Azure object becomes an `InPort`/`OutPort`.

Ports keep a reference to the user's object, so a name the planner assigns later (unnamed
OutputFileDatasetConfig / as_input()) is seen everywhere. `upstream` is the object whose producer
feeds an input (a PipelineData or an output config); external data has a `source` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..data.data_reference import DataReference
from ..data.datapath import DataPath, DataPathComputeBinding
from ..data.dataset import AbstractDataset, TabularDataset
from ..data.dataset_consumption_config import DatasetConsumptionConfig
from ..data.output_dataset_config import OutputDatasetConfig, OutputFileDatasetConfig
from .errors import PipelineDefinitionError
from .parameter import PipelineParameter
from .pipeline_data import InputPortBinding, PipelineData, PipelineOutputFileDataset

PIPELINE_DATA_PATH = "azureml/{run-id}/{output-name}"


@dataclass(eq=False)
class InPort:
    """One input of a step; `kind` is pipeline_data, data_reference or dataset."""

    obj: Any
    kind: str
    mode: str
    base_name: str | None = None          # None: read from `obj.name` when needed (lazily named)
    upstream: Any = None                  # PipelineData / OutputDatasetConfig feeding this input
    wants_dataset: bool = False           # consumer asked for pd.as_dataset()
    source: dict[str, Any] | None = None  # external data
    parameter: PipelineParameter | None = None
    dataset_type: str | None = None
    path_on_compute: str | None = None
    overwrite: bool = False
    renamed: bool = False                 # INPUT_<name>: an output of the step has the same name
    origin: Any = None                    # the entry of the step's `inputs` this port came from

    @property
    def name(self) -> str:
        base = self.base_name if self.base_name is not None else self.obj.name
        return f"INPUT_{base}" if self.renamed else base


@dataclass(eq=False)
class OutPort:
    """One output of a step; `kind` is pipeline_data or dataset (an output config)."""

    obj: Any                              # the PipelineData or output config consumers refer to
    kind: str
    datastore: str | None
    path_template: str
    mode: str
    path_on_compute: str | None = None
    overwrite: bool = False
    is_directory: bool | None = None
    promotion: dict[str, Any] | None = None
    register: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.obj._output_name if isinstance(self.obj, PipelineData) else self.obj.name

    @property
    def lazily_named(self) -> bool:
        return isinstance(self.obj, OutputDatasetConfig) and self.obj._name is None


def _dataset_type(dataset: Any) -> str:
    return "tabular" if isinstance(dataset, TabularDataset) or getattr(dataset, "_is_tabular", False) else "file"


def input_port(obj: Any, step_name: str) -> InPort:
    """Normalise one entry of `inputs`."""
    if isinstance(obj, PipelineData):
        return InPort(obj, "pipeline_data", "mount", obj.name, upstream=obj)
    if isinstance(obj, InputPortBinding):
        target = obj.bind_object
        upstream = target.pipeline_data if isinstance(target, PipelineOutputFileDataset) else target
        return InPort(obj, "pipeline_data", obj.bind_mode, obj.name, upstream=upstream,
                      path_on_compute=obj.path_on_compute, overwrite=bool(obj.overwrite))
    if isinstance(obj, PipelineOutputFileDataset):
        return InPort(obj, "dataset", obj.mode, obj.name, upstream=obj.pipeline_data, wants_dataset=True,
                      dataset_type=_dataset_type(obj), path_on_compute=obj.path_on_compute)
    if isinstance(obj, DataReference):
        source = {"type": "datastore", "datastore": obj.datastore_name, "path": obj.path_on_datastore or ""}
        return InPort(obj, "data_reference", obj.mode, obj.data_reference_name, source=source,
                      path_on_compute=obj.path_on_compute, overwrite=bool(obj.overwrite))
    if isinstance(obj, OutputFileDatasetConfig):
        return input_port(obj.as_input(), step_name)
    if isinstance(obj, DatasetConsumptionConfig):
        return _consumption_port(obj, step_name)
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], DataPathComputeBinding):
        return _datapath_port(obj, step_name)
    if isinstance(obj, AbstractDataset):
        raise PipelineDefinitionError(f"Step [{step_name}]: inputs contains a Dataset; pass "
                                      "dataset.as_named_input('<name>') (optionally .as_mount()/.as_download())")
    raise PipelineDefinitionError(f"Step [{step_name}]: unsupported input of type {type(obj).__name__}: {obj!r}")


def _consumption_port(obj: DatasetConsumptionConfig, step_name: str) -> InPort:
    dataset = obj.dataset
    port = InPort(obj, "dataset", obj.mode, obj._name, dataset_type=_dataset_type(
        getattr(dataset, "default_value", dataset)), path_on_compute=obj.path_on_compute)
    if isinstance(dataset, OutputDatasetConfig):
        port.upstream = dataset
    elif isinstance(dataset, PipelineOutputFileDataset):
        port.upstream, port.wants_dataset = dataset.pipeline_data, True
    elif isinstance(dataset, PipelineParameter):
        port.parameter, port.source = dataset, {"type": "parameter", "name": dataset.name}
    elif isinstance(dataset, AbstractDataset):
        port.source = {"type": "dataset", "id": dataset.id, "dataset": dataset.to_dict()}
    else:
        raise PipelineDefinitionError(f"Step [{step_name}]: input {obj.name} wraps unsupported "
                                      f"{type(dataset).__name__}")
    if port.base_name is None and port.upstream is None:
        port.base_name = obj.name  # named from the dataset id: already stable
    return port


def _datapath_port(obj: tuple[Any, DataPathComputeBinding], step_name: str) -> InPort:
    target, binding = obj
    port = InPort(obj, "data_reference", binding._mode, path_on_compute=binding._path_on_compute,
                  overwrite=bool(binding._overwrite))
    if isinstance(target, PipelineParameter) and isinstance(target.default_value, DataPath):
        port.base_name, port.parameter = target.name, target
        port.source = {"type": "parameter", "name": target.name}
    elif isinstance(target, DataPath):
        port.base_name = target._name
        port.source = {"type": "datastore", "datastore": target.datastore_name, "path": target.path_on_datastore or ""}
    else:
        raise PipelineDefinitionError(f"Step [{step_name}]: a DataPathComputeBinding must be paired with a "
                                      f"DataPath or a PipelineParameter whose default is a DataPath")
    return port


def output_port(obj: Any, step_name: str) -> OutPort:
    """Normalise one entry of `outputs`."""
    if isinstance(obj, PipelineOutputFileDataset):
        port = output_port(obj.pipeline_data, step_name)
        port.promotion = {"type": "tabular", "format": obj._format} if obj._is_tabular else {"type": "file"}
        return port
    if isinstance(obj, PipelineData):
        return OutPort(obj, "pipeline_data", obj.datastore_name, PIPELINE_DATA_PATH, obj._output_mode,
                       obj._output_path_on_compute, bool(obj._output_overwrite), obj.is_directory)
    if isinstance(obj, OutputFileDatasetConfig):
        upload = obj._upload_options or {}
        return OutPort(obj, "dataset", obj.destination_datastore_name, obj.destination_path, obj.mode,
                       obj.source, bool(upload.get("overwrite")), True, obj._promotion or {"type": "file"},
                       obj._registration, {"source_globs": upload.get("source_globs")} if upload else {})
    raise PipelineDefinitionError(f"Step [{step_name}]: unsupported output of type {type(obj).__name__}: {obj!r}")


def set_producer(port: OutPort, step: Any) -> None:
    """Claim the output for `step` (a second producer raises Azure's error)."""
    port.obj._set_producer(step)


def producer_of(port: InPort) -> Any:
    """The step that lists this input's upstream object among its outputs, or None."""
    upstream = port.upstream
    if upstream is None:
        return None
    return upstream._producer


__all__ = ["InPort", "OutPort", "PIPELINE_DATA_PATH", "input_port", "output_port", "producer_of", "set_producer"]
