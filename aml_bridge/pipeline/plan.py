"""The pipeline plan: pure, JSON-serialisable data the Airflow side materialises into a DAG.

Nothing in a plan refers to user objects, random ids or the machine's state beyond absolute
source directories, so building the plan twice from one DAG file gives equal plans.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import PipelineParameterError
from .parameter import check_submitted

PLAN_FORMAT = 1


@dataclass
class ArgumentPlan:
    """One argv item: `literal` text, a pipeline `parameter` name, or a `port` name."""

    kind: str
    value: str


@dataclass
class ParamPlan:
    """One `params` entry (-> `AML_PARAMETER_<name>`): a `literal` string or a pipeline `parameter` name."""

    kind: str
    value: str


@dataclass
class InputPlan:
    """An input port. `kind`: pipeline_data | data_reference | dataset; `mode`: mount | download | direct.

    Fed by `producer` (task id) + `output` (its output port), or by external `source`:
    `{"type": "datastore", "datastore", "path"}`, `{"type": "dataset", "id", "dataset"}` or
    `{"type": "parameter", "name"}` (a DataPath- or dataset-valued pipeline parameter).
    """

    name: str
    kind: str
    mode: str
    producer: str | None = None
    output: str | None = None
    source: dict[str, Any] | None = None
    dataset_type: str | None = None
    path_on_compute: str | None = None
    overwrite: bool = False


@dataclass
class OutputPlan:
    """An output port written to `datastore` at `path_template` (`{run-id}`, `{output-name}`)."""

    name: str
    kind: str
    datastore: str
    path_template: str
    mode: str
    path_on_compute: str | None = None
    overwrite: bool = False
    is_directory: bool | None = None
    dataset: dict[str, Any] | None = None
    register: dict[str, Any] | None = None
    source_globs: list[str] | None = None


@dataclass
class StepPlan:
    """One step = one Airflow task. `kind` picks the operator; `extra` holds kind-specific data."""

    task_id: str
    name: str
    kind: str
    script: str | None = None
    source_directory: str | None = None
    arguments: list[ArgumentPlan] = field(default_factory=list)
    inputs: list[InputPlan] = field(default_factory=list)
    outputs: list[OutputPlan] = field(default_factory=list)
    params: dict[str, ParamPlan] = field(default_factory=dict)
    compute_target: str | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    allow_reuse: bool = True
    version: str | None = None
    upstream: list[str] = field(default_factory=list)
    module_hash: str = ""
    runconfig: Any = None
    runconfig_parameters: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def input(self, name: str) -> InputPlan:
        return _named(self.inputs, name, f"input of step {self.task_id}")

    def output(self, name: str) -> OutputPlan:
        return _named(self.outputs, name, f"output of step {self.task_id}")

    @staticmethod
    def from_dict(data: dict[str, Any]) -> StepPlan:
        data = dict(data)
        data["arguments"] = [ArgumentPlan(**a) for a in data.get("arguments", [])]
        data["inputs"] = [InputPlan(**i) for i in data.get("inputs", [])]
        data["outputs"] = [OutputPlan(**o) for o in data.get("outputs", [])]
        data["params"] = {k: ParamPlan(**v) for k, v in data.get("params", {}).items()}
        return StepPlan(**data)


@dataclass
class PipelinePlan:
    """Steps in a topological order, pipeline parameters (name -> default) and the default datastore."""

    steps: list[StepPlan]
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_kinds: dict[str, str] = field(default_factory=dict)
    default_datastore: str = "workspaceblobstore"
    description: str | None = None
    format: int = PLAN_FORMAT

    def step(self, task_id: str) -> StepPlan:
        for step in self.steps:
            if step.task_id == task_id:
                return step
        raise KeyError(f"No step with task id {task_id!r}; task ids: {[s.task_id for s in self.steps]}")

    def parameter_values(self, submitted: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with `submitted`; an unknown name raises like Azure's submit."""
        values = dict(self.parameters)
        for name, value in (submitted or {}).items():
            if name not in self.parameters:
                raise PipelineParameterError(f"Pipeline parameter with name {name} does not exist")
            values[name] = check_submitted(name, self.parameter_kinds[name], value)
        return values

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> PipelinePlan:
        data = dict(data)
        data["steps"] = [StepPlan.from_dict(s) for s in data["steps"]]
        return PipelinePlan(**data)

    @staticmethod
    def from_json(text: str) -> PipelinePlan:
        return PipelinePlan.from_dict(json.loads(text))


def _named(items: list[Any], name: str, what: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"No {what} named {name!r}; names: {[i.name for i in items]}")


__all__ = ["ArgumentPlan", "InputPlan", "OutputPlan", "PLAN_FORMAT", "ParamPlan", "PipelinePlan", "StepPlan"]
