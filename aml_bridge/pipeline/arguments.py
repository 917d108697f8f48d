"""Step `arguments` processed at construction, as Azure does (AML_API §3.4).

Each item becomes an `Arg`: a literal string, a pipeline parameter, or a reference to one of the
step's ports (resolved to a local path at run time). Dataset configs named only in `arguments`
are appended to `inputs`/`outputs`; PipelineData/DataReference must already be listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data.data_reference import DataReference
from ..data.datapath import DataPathComputeBinding
from ..data.dataset import AbstractDataset
from ..data.dataset_consumption_config import DatasetConsumptionConfig
from ..data.output_dataset_config import OutputDatasetConfig
from .errors import PipelineDefinitionError, PipelineParameterError
from .parameter import PipelineParameter
from .pipeline_data import InputPortBinding, PipelineData, PipelineOutputFileDataset

PARAMETER_PREFIX = "parameter:"


@dataclass
class Arg:
    """One processed argument: kind is literal, parameter (a PipelineParameter) or port (a port's object)."""

    kind: str
    value: Any
    output: bool = False   # for port references: refers to an output


def _in(obj: Any, items: list[Any]) -> bool:
    return any(item is obj for item in items)


def _listed_input(obj: Any, inputs: list[Any]) -> Any:
    """The entry of `inputs` that delivers `obj`, or None."""
    for item in inputs:
        if item is obj:
            return item
        if isinstance(obj, PipelineData) and isinstance(item, InputPortBinding) and item.bind_object is obj:
            return item
        if isinstance(obj, InputPortBinding) and isinstance(item, InputPortBinding) and (
                item.name, item.bind_object) == (obj.name, obj.bind_object):
            return item
        if isinstance(obj, DataReference) and isinstance(item, DataReference) and (
                item.data_reference_name == obj.data_reference_name):
            return item
    return None


def process_arguments(step_name: str, arguments: list[Any], inputs: list[Any], outputs: list[Any],
                      params: dict[str, Any]) -> list[Arg]:
    """Validate and structure `arguments`; mutates `inputs`, `outputs` and `params` like Azure."""
    result = [_one(step_name, item, inputs, outputs, params) for item in arguments]
    for arg in result:
        if arg.kind == "literal" and arg.value.startswith(PARAMETER_PREFIX):
            key = arg.value[len(PARAMETER_PREFIX):]
            if key in params:
                value = params[key]
                arg.kind, arg.value = ("parameter", value) if isinstance(value, PipelineParameter) else (
                    "literal", str(value))
    return result


def _one(step_name: str, item: Any, inputs: list[Any], outputs: list[Any], params: dict[str, Any]) -> Arg:
    if isinstance(item, PipelineParameter):
        if item.name in params and params[item.name] is not item:
            raise PipelineParameterError(f"Parameter name {item.name} is already in use")
        params[item.name] = item
        return Arg("parameter", item)
    if isinstance(item, PipelineOutputFileDataset) and _in(item, outputs):
        return Arg("port", item, output=True)
    if isinstance(item, (DatasetConsumptionConfig, PipelineOutputFileDataset)):
        if not _in(item, inputs):
            inputs.append(item)
        return Arg("port", item)
    if isinstance(item, OutputDatasetConfig):
        if _in(item, inputs):
            return Arg("port", item)
        if not _in(item, outputs):
            outputs.append(item)
        return Arg("port", item, output=True)
    if isinstance(item, (PipelineData, InputPortBinding, DataReference)):
        if isinstance(item, PipelineData) and _in(item, outputs):
            return Arg("port", item, output=True)
        listed = _listed_input(item, inputs)
        if listed is None:
            label = getattr(item, "name", None) or getattr(item, "data_reference_name", item)
            raise PipelineDefinitionError(f"Step [{step_name}]: Input/Output {label} appears in arguments list "
                                          "but is not in the input/output lists")
        return Arg("port", listed)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], DataPathComputeBinding):
        if not _in(item, inputs):
            inputs.append(item)
        return Arg("port", item)
    if isinstance(item, AbstractDataset):
        raise PipelineDefinitionError(f"Step [{step_name}]: Datasets cannot be used directly as arguments; use "
                                      "dataset.as_named_input('<name>') (with .as_mount()/.as_download() for a path)")
    try:
        return Arg("literal", item if isinstance(item, str) else str(item))
    except Exception as exc:
        raise PipelineDefinitionError(f"Step [{step_name}]: argument {type(item).__name__} cannot be "
                                      f"converted to a string: {exc}") from exc


__all__ = ["Arg", "PARAMETER_PREFIX", "process_arguments"]
