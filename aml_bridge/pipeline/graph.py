"""Azure's graph rules (AML_API §3.2): closure, data/run_after/sequence edges, cycles, order.

Steps are memoised by identity. Cycles are not rejected while building (Azure reports them from
`validate()`); `topological_order` refuses them with Azure's message.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from .errors import PipelineDefinitionError
from .pipeline_data import PipelineData
from .sequence import StepSequence
from .step import PipelineStep


@dataclass
class Graph:
    """Steps in discovery order and, per step, its upstream steps with the reason of each edge."""

    steps: list[PipelineStep] = field(default_factory=list)
    upstream: dict[PipelineStep, dict[PipelineStep, str]] = field(default_factory=dict)

    def add_edge(self, upstream: PipelineStep, downstream: PipelineStep, reason: str) -> None:
        if upstream is not downstream:
            self.upstream.setdefault(downstream, {}).setdefault(upstream, reason)


def _as_step(item: Any) -> Any:
    """A v2 node (`Parallel`) stands for the step it makes; anything else is itself."""
    make = getattr(item, "_pipeline_step", None)
    return make() if callable(make) and not isinstance(item, type) else item


def _flatten(item: Any) -> list[PipelineStep]:
    item = _as_step(item)
    if isinstance(item, PipelineStep):
        return [item]
    if isinstance(item, PipelineData):
        return _flatten(_producer(item))
    items = item.steps if isinstance(item, StepSequence) else item
    if isinstance(items, (list, tuple)):
        return [step for element in items for step in _flatten(element)]
    raise PipelineDefinitionError(f"Pipeline steps must be steps, PipelineData, lists or StepSequences, "
                                  f"got {type(item).__name__}")


def _producer(data: PipelineData) -> PipelineStep:
    if data._producer is None:
        raise PipelineDefinitionError(f"PipelineData {data.name} is listed as a step but no step produces it")
    return data._producer


class _Builder:
    def __init__(self, listed: list[PipelineStep], resolve_closure: bool) -> None:
        self.graph = Graph()
        self.listed = set(listed)
        self.resolve_closure = resolve_closure
        self.seen: set[PipelineStep] = set()

    def visit(self, step: PipelineStep) -> None:
        """Post-order: a step's upstream steps are discovered before it."""
        if step in self.seen:
            return
        self.seen.add(step)
        for upstream, reason in step._dependencies():
            if upstream not in self.listed and not self.resolve_closure:
                raise PipelineDefinitionError(f"Step [{step.name}] depends on step [{upstream.name}] ({reason}), "
                                              "which is not in the pipeline's steps and resolve_closure=False")
            self.visit(upstream)
            self.graph.add_edge(upstream, step, reason)
        self.graph.steps.append(step)

    def item(self, item: Any) -> set[PipelineStep]:
        """Visit an element; returns its steps plus the ones closure pulled in for it."""
        item = _as_step(item)
        if isinstance(item, PipelineData):
            item = _producer(item)
        if isinstance(item, PipelineStep):
            before = set(self.seen)
            self.visit(item)
            return (self.seen - before) | {item}
        if isinstance(item, StepSequence):
            groups = [self.item(element) for element in item.steps]
            for earlier, later in zip(groups, groups[1:]):
                for downstream in later:
                    for upstream in earlier:
                        self.graph.add_edge(upstream, downstream, "StepSequence")
            return set().union(*groups) if groups else set()
        return set().union(set(), *(self.item(element) for element in item))


def build_graph(steps: Any, resolve_closure: bool = True) -> Graph:
    """The pipeline graph for Azure's `steps` argument (a step, PipelineData, list or StepSequence)."""
    builder = _Builder(_flatten(steps), resolve_closure)
    builder.item(steps)
    return builder.graph


def find_cycle(graph: Graph) -> PipelineStep | None:
    """A step on a cycle (DFS over input edges, as Azure's validate does), or None."""
    state: dict[PipelineStep, int] = {}

    def dfs(step: PipelineStep) -> PipelineStep | None:
        state[step] = 1
        for upstream in graph.upstream.get(step, {}):
            if state.get(upstream) == 1:
                return upstream
            if upstream not in state and (found := dfs(upstream)) is not None:
                return found
        state[step] = 2
        return None

    for step in graph.steps:
        if step not in state and (found := dfs(step)) is not None:
            return found
    return None


def cycle_message(step: PipelineStep) -> str:
    return f"Cycle detected including node {step.name}({step.id})"


def topological_order(graph: Graph) -> list[PipelineStep]:
    """Steps so that every step follows its upstream steps; ties keep discovery order."""
    cycle = find_cycle(graph)
    if cycle is not None:
        raise PipelineDefinitionError(cycle_message(cycle))
    index = {step: i for i, step in enumerate(graph.steps)}
    waiting = {step: len(graph.upstream.get(step, {})) for step in graph.steps}
    downstream: dict[PipelineStep, list[PipelineStep]] = {}
    for step, ups in graph.upstream.items():
        for upstream in ups:
            downstream.setdefault(upstream, []).append(step)
    ready = [(index[s], s) for s, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, step = heapq.heappop(ready)
        order.append(step)
        for nxt in downstream.get(step, []):
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (index[nxt], nxt))
    return order


__all__ = ["Graph", "build_graph", "cycle_message", "find_cycle", "topological_order"]
