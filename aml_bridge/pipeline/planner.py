"""Pipeline -> PipelinePlan. All definition errors surface here at the latest, naming step and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..data._common import stable_hex
from .arguments import Arg
from .errors import PipelineDefinitionError, PipelineParameterError
from .fingerprint import module_hash
from .graph import Graph, topological_order
from .naming import task_ids
from .parameter import PipelineParameter, parameter_kind, to_json_value
from .plan import ArgumentPlan, InputPlan, OutputPlan, ParamPlan, PipelinePlan, StepPlan
from .ports import InPort, OutPort, producer_of
from .step import PipelineStep


@dataclass
class PlanContext:
    """What a step's `_plan_spec` may ask the planner for."""

    default_source_directory: str
    default_datastore: str

    def argument(self, step: PipelineStep, arg: Arg) -> ArgumentPlan:
        if arg.kind == "literal":
            return ArgumentPlan("literal", arg.value)
        if arg.kind == "parameter":
            return ArgumentPlan("parameter", arg.value.name)
        return ArgumentPlan("port", _port_for(step, arg).name)

    @staticmethod
    def param(value: Any) -> ParamPlan:
        if isinstance(value, PipelineParameter):
            return ParamPlan("parameter", value.name)
        return ParamPlan("literal", str(value))


def _port_for(step: PipelineStep, arg: Arg) -> InPort | OutPort:
    target = arg.value
    if arg.output:
        target = getattr(target, "pipeline_data", target)
        for out in step._out_ports:
            if out.obj is target:
                return out
    for port in step._in_ports:
        if port.origin is target:
            return port
    raise PipelineDefinitionError(f"Step [{step.name}]: argument {target!r} refers to no input or output")


def _assign_default_names(order: list[PipelineStep], ids: dict[PipelineStep, str]) -> None:
    """Unnamed output configs / as_input() get names derived from the task id: equal in every parse."""
    for step in order:
        for i, out in enumerate(step._out_ports):
            if out.lazily_named:
                out.obj._assign_default_name(f"output_{stable_hex(ids[step], 'output', i)}")
        for i, inp in enumerate(step._in_ports):
            if inp.base_name is None and getattr(inp.obj, "_name", "") is None:
                inp.obj._assign_default_name(f"input_{stable_hex(ids[step], 'input', i)}")


def _collect_parameters(order: list[PipelineStep]) -> dict[str, PipelineParameter]:
    found: dict[str, PipelineParameter] = {}
    for step in order:
        for param in _step_parameters(step):
            known = found.setdefault(param.name, param)
            if known is not param and to_json_value(known.default_value) != to_json_value(param.default_value):
                raise PipelineParameterError(f"Pipeline parameters with same name {param.name} but different "
                                             f"values {known.default_value}, {param.default_value} used "
                                             f"(step [{step.name}])")
    return found


def _step_parameters(step: PipelineStep) -> Iterable[PipelineParameter]:
    values = list(getattr(step, "params", {}).values()) + list(getattr(step, "runconfig_pipeline_params", {}).values())
    values += [a.value for a in step._arguments if a.kind == "parameter"]
    values += [p.parameter for p in step._in_ports if p.parameter is not None]
    return [v for v in values if isinstance(v, PipelineParameter)]


def _input_plan(step: PipelineStep, port: InPort, ids: dict[PipelineStep, str]) -> InputPlan:
    plan = InputPlan(port.name, port.kind, port.mode, source=port.source, dataset_type=port.dataset_type,
                     path_on_compute=port.path_on_compute, overwrite=port.overwrite)
    producer = producer_of(port)
    if producer is None:
        return plan
    out = next(o for o in producer._out_ports if o.obj is port.upstream)
    if port.wants_dataset and out.promotion is None:
        raise PipelineDefinitionError(f"Step [{step.name}]: input {port.name} asks for a dataset, but step "
                                      f"[{producer.name}] does not promote output {out.name}; list "
                                      f"{out.name}.as_dataset() in its outputs")
    plan.producer, plan.output = ids[producer], out.name
    return plan


def _output_plan(port: OutPort, default_datastore: str) -> OutputPlan:
    return OutputPlan(port.name, port.kind, port.datastore or default_datastore, port.path_template, port.mode,
                      port.path_on_compute, port.overwrite, port.is_directory, port.promotion, port.register,
                      port.extra.get("source_globs"))


def build_plan(graph: Graph, context: PlanContext, description: str | None = None,
               pipeline_parameters: dict[str, Any] | None = None,
               reserved_task_ids: Iterable[str] = ()) -> PipelinePlan:
    """The plan of a built graph; `pipeline_parameters` replace defaults (unknown names raise)."""
    order = topological_order(graph)
    ids = dict(zip(order, task_ids([s.name for s in order], reserved_task_ids)))
    _assign_default_names(order, ids)
    position = {step: i for i, step in enumerate(order)}
    plans = []
    for step in order:
        step._check_ports(final=True)
        step._check_at_build(context)
        upstream = sorted(graph.upstream.get(step, {}), key=position.__getitem__)
        plans.append(StepPlan(
            task_id=ids[step], name=step.name, kind=step.kind,
            inputs=[_input_plan(step, p, ids) for p in step._in_ports],
            outputs=[_output_plan(p, context.default_datastore) for p in step._out_ports],
            allow_reuse=bool(step.allow_reuse), version=None if step.version is None else str(step.version),
            upstream=[ids[u] for u in upstream], **step._plan_spec(context)))
    params = _collect_parameters(order)
    plan = PipelinePlan(plans, {n: to_json_value(p.default_value) for n, p in params.items()},
                        {n: parameter_kind(p.default_value) for n, p in params.items()},
                        context.default_datastore, description)
    plan.parameters = plan.parameter_values(pipeline_parameters)
    for step_plan in plan.steps:
        step_plan.module_hash = module_hash(step_plan, plan.parameters)
    return plan


__all__ = ["PlanContext", "build_plan"]
