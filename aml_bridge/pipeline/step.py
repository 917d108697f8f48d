"""`PipelineStep`: what every step kind shares — name, node id, ports, `run_after`.

A step kind adds its own fields through `_plan_spec()`; the planner fills in the rest, so a new
kind (ParallelRunStep, ...) needs a subclass and an operator on the Airflow side, nothing else.
"""

from __future__ import annotations

from typing import Any

from .arguments import Arg
from .errors import PipelineDefinitionError
from .naming import is_valid_port_name, new_node_id
from .ports import InPort, input_port, output_port, producer_of, set_producer


class PipelineStep:
    """Base of all steps; `kind` selects the Airflow operator (through the `aml_step_to_task` hook)."""

    kind = "step"
    # Azure lets a PythonScriptStep have an input and an output of the same name (input -> INPUT_<name>).
    _rename_colliding_inputs = False

    def __init__(self, name: str, inputs: list[Any], outputs: list[Any], arguments: list[Arg] | None = None,
                 allow_reuse: bool = True, version: str | None = None) -> None:
        self.name = name
        self._id = new_node_id()
        self._inputs = inputs
        self._outputs = outputs
        self._arguments = arguments or []
        self.allow_reuse = allow_reuse
        self.version = version
        self._run_after: list[PipelineStep] = []
        self._in_ports: list[InPort] = []
        for item in inputs:
            port = input_port(item, name)
            port.origin = item
            self._in_ports.append(port)
        self._out_ports = [output_port(item, name) for item in outputs]
        self._check_ports(final=False)
        for out in self._out_ports:  # last: a step that failed its checks claims no output
            set_producer(out, self)

    @property
    def inputs(self) -> list[Any]:
        return self._inputs

    @property
    def outputs(self) -> list[Any]:
        return self._outputs

    @property
    def id(self) -> str:
        return self._id

    def run_after(self, step: PipelineStep) -> None:
        """Run this step only after `step` finished (a control edge, no data)."""
        self._run_after.append(step)

    def _dependencies(self) -> list[tuple[PipelineStep, str]]:
        """(upstream step, reason) for every data input with a producer and every run_after step."""
        deps = []
        for port in self._in_ports:
            if port.upstream is None:
                continue
            producer = producer_of(port)
            if producer is None:
                raise PipelineDefinitionError(f"Input {self._label(port)} on step {self.name} is not connected "
                                              "to any previous step")
            deps.append((producer, f"input {self._label(port)}"))
        deps.extend((step, "run_after") for step in self._run_after)
        return deps

    @staticmethod
    def _label(port: InPort) -> str:
        """A port's name for messages, without fixing a lazily generated name too early."""
        if port.base_name is not None:
            return port.base_name
        return getattr(port.obj, "_name", None) or f"<unnamed {type(port.obj).__name__}>"

    @staticmethod
    def _base(port: InPort) -> str:
        return port.base_name if port.base_name is not None else port.obj.name

    def _check_ports(self, final: bool) -> None:
        """Port names match `\\w+` and are unique per kind; lazily named ports wait for `final`."""
        outs = [p.name for p in self._out_ports if final or not p.lazily_named]
        self._check_unique(outs, "output")
        ins = []
        for port in self._in_ports:
            if port.base_name is None and not final:
                continue
            base = self._base(port)
            port.renamed = self._rename_colliding_inputs and base in outs
            ins.append(port.name)
        self._check_unique(ins, "input")

    def _check_unique(self, names: list[str], what: str) -> None:
        seen: set[str] = set()
        for name in names:
            if not is_valid_port_name(name):
                raise PipelineDefinitionError(f"Step [{self.name}]: [{name}] is not a valid {what} name: port names "
                                              "may contain only letters, digits and underscore")
            if name in seen:
                raise PipelineDefinitionError(f"Step [{self.name}]: {what} name [{name}] is used twice; "
                                              f"{what} names must be unique")
            seen.add(name)

    def _check_at_build(self, context: Any) -> None:
        """Checks Azure runs when the pipeline is built (e.g. the script exists)."""

    def _plan_spec(self, context: Any) -> dict[str, Any]:
        """Kind-specific StepPlan fields; subclasses override."""
        raise NotImplementedError(f"{type(self).__name__} cannot be planned")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


__all__ = ["PipelineStep"]
