"""A v2 `Parallel` node as a step of a v1 `Pipeline`: bound to v1 data objects, planned like a ParallelRunStep.

A migrating user changes one step at a time, so the node sits in `Pipeline(ws, steps=[...])` next to
PythonScriptSteps and consumes their outputs (`PipelineData.as_dataset()`, a Dataset's
`as_named_input(...)`, `OutputFileDatasetConfig`). The v2 fields are checked by `plan_settings` (same
messages as a standalone node); this module only maps v2 input/output names onto ports. The
model reference stays a URI here: it is resolved when the step runs, so it may name a model
that an upstream step of the same pipeline run registers (`azureml:<name>:latest`).
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

from ..data.dataset import AbstractDataset
from ..pipeline.errors import PipelineDefinitionError
from ..pipeline.pipeline_data import PipelineData, PipelineOutputFileDataset
from ..pipeline.plan import ArgumentPlan
from ..pipeline.runconfig import compute_target_name
from ..pipeline.step import PipelineStep
from .config import ParallelSettings
from .step import _PASS_THROUGH, _as_inputs, input_kind, set_input_modes
from .v2 import Input, Output, Parallel, _fail, _input_kind, _is_data, plan_settings

# A reference that names one fixed model; anything else (latest, an alias, a stage) may move.
_PINNED = re.compile(r"^(models:/[^/@]+/\d+|models:/m-[0-9a-f]+|runs:/.+)$")
_OUTPUTS = (PipelineData, PipelineOutputFileDataset)


def _declared(node: Parallel) -> Parallel:
    """The node with its data inputs as declared (`Input(type=...)`), for `plan_settings`' checks."""
    view = copy.copy(node)
    declared = node.component.inputs
    view.inputs = {n: declared[n] if n in declared and _is_data(declared[n]) else v for n, v in node.inputs.items()}
    return view


def _optional_unbound(node: Parallel, name: str) -> bool:
    """An `Input(optional=True)` left unbound: no port (a program argument naming it is an error)."""
    value = node.inputs.get(name)
    return isinstance(value, Input) and value.path is None and bool(getattr(node.component.inputs.get(name),
                                                                           "optional", False))


def _bound_input(label: str, name: str, node: Parallel, main: bool) -> Any:
    """The v1 data object bound to `inputs.<name>`; the main input's kind must match its declaration."""
    value = node.inputs.get(name)
    obj = value.path if isinstance(value, Input) else value
    if obj is None or isinstance(obj, str):
        raise _fail(label, f"inputs.{name} is not bound to data: call the node with {name}=<a Dataset's "
                           "as_named_input(...), PipelineData(...).as_dataset() or an OutputFileDatasetConfig> "
                           f"to use it as a pipeline step (got {obj!r})")
    if isinstance(obj, AbstractDataset):
        obj = obj.as_named_input(name)
    (obj,) = _as_inputs([obj], [])
    if not main and isinstance(obj, _PASS_THROUGH):
        return obj
    try:
        kind = input_kind(label, obj)
    except PipelineDefinitionError as exc:
        raise _fail(label, f"inputs.{name}: {str(exc).removeprefix(f'Step [{label}]: ')}") from None
    declared = node.component.inputs.get(name)
    if main and kind != _input_kind(declared):
        raise _fail(label, f"inputs.{name} is declared Input(type={getattr(declared, 'type', None)!r}, mode="
                           f"{getattr(declared, 'mode', None)!r}) ({_input_kind(declared)} mini-batches) but is bound "
                           f"to {type(obj).__name__}, a {kind} dataset; declare Input(type='mltable') for tabular "
                           "data, Input(type='uri_folder') for files")
    return obj


def _bound_output(label: str, name: str, value: Any) -> Any:
    """The v1 object bound to `outputs.<name>`: a PipelineData / OutputFileDatasetConfig, default a PipelineData."""
    from ..data.output_dataset_config import OutputFileDatasetConfig

    obj = value.path if isinstance(value, Output) else value
    if obj is None:
        return PipelineData(name)
    if not isinstance(obj, (*_OUTPUTS, OutputFileDatasetConfig)):
        raise _fail(label, f"outputs.{name} must be bound to a PipelineData or an OutputFileDatasetConfig "
                           f"(node.outputs[{name!r}] = PipelineData(...)), got {type(obj).__name__}")
    return obj


class ParallelNodeStep(PipelineStep):
    """The `parallel_run` step of a bound `Parallel` node: prepare >> mapped nodes >> gather on Airflow."""

    kind = "parallel_run"
    _rename_colliding_inputs = True

    def __init__(self, node: Parallel) -> None:
        label = node.name or node.display_name or "parallel"
        self.node = node
        self._settings = plan_settings(_declared(node))
        settings = self._settings
        settings.side_inputs = [n for n in settings.side_inputs if not _optional_unbound(node, n)]
        names = [*settings.inputs, *settings.side_inputs]
        inputs = [_bound_input(label, n, node, i < len(settings.inputs)) for i, n in enumerate(names)]
        if len(node.outputs) > 1:
            raise _fail(label, f"outputs {sorted(node.outputs)}: a parallel step has one output (append_row_to's)")
        outputs = {n: _bound_output(label, n, v) for n, v in node.outputs.items()}
        self._objects = {**dict(zip(names, inputs)), **outputs}
        for argument in settings.arguments:
            if argument["kind"] == "port" and argument["value"] not in self._objects:
                raise _fail(label, f"program_arguments refers to inputs.{argument['value']}, an optional input "
                                   "left unbound")
        self.compute_target = compute_target_name(label, node.compute, None)
        super().__init__(label, inputs, list(outputs.values()), [], allow_reuse=self._reusable())
        set_input_modes(self, len(settings.inputs), bool(settings.partition_keys))
        for step in node._after:
            self.run_after(step._pipeline_step() if isinstance(step, Parallel) else step)

    def _reusable(self) -> bool:
        """A moving model reference (latest, alias) scores a different model with the same inputs: no reuse."""
        model = self._settings.model
        return bool(self.node.is_deterministic) and (model is None or bool(_PINNED.match(model)))

    def _port_name(self, name: str) -> str:
        """The port of the object bound to v2 input/output `name` (names can be assigned late)."""
        obj = self._objects[name]
        for port in self._in_ports:
            if port.origin is obj:
                return port.name
        return next(p.name for p in self._out_ports if p.obj is obj)

    def _check_at_build(self, context: Any) -> None:
        script = os.path.join(self._settings.source_directory, self._settings.entry_script)
        if not os.path.isfile(script):
            raise _fail(self.name, f"task.entry_script not found at: {script}")

    def _planned_settings(self) -> ParallelSettings:
        settings = copy.deepcopy(self._settings)
        settings.inputs = [self._port_name(n) for n in settings.inputs]
        settings.side_inputs = [self._port_name(n) for n in settings.side_inputs]
        settings.output = self._out_ports[0].name if self._out_ports else None
        settings.arguments = [{**a, "value": self._port_name(a["value"])} if a["kind"] == "port" else a
                              for a in settings.arguments]
        return settings

    def _plan_spec(self, context: Any) -> dict[str, Any]:
        settings = self._planned_settings()
        environment = self.node.task.environment
        return {
            "script": settings.entry_script,
            "source_directory": settings.source_directory,
            "arguments": [ArgumentPlan(a["kind"], a["value"]) for a in settings.arguments],
            "compute_target": self.compute_target,
            "environment_variables": settings.environment_variables,
            "runconfig": {"framework": "Python", "node_count": settings.node_count,
                          "environment": environment._to_dict() if hasattr(environment, "_to_dict") else None},
            "extra": settings.to_extra(),
        }


__all__ = ["ParallelNodeStep"]
