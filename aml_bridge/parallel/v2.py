"""v2 `azure.ai.ml.parallel` (AML_API §4.7): `parallel_run_function`, `RunFunction`, `RetrySettings`.

The entities keep what the SDK keeps, with its client-side checks only (mini_batch_size to bytes,
instance_count vs resources); everything else is checked when `Parallel._plan_extra()` maps the
node onto the `ParallelSettings` a v1 ParallelRunStep plans to, so one driver serves both APIs.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
from dataclasses import dataclass
from typing import Any

from ..errors import AmlBridgeError
from ..pipeline.errors import PipelineDefinitionError
from .config import (
    DEFAULT_APPEND_ROW_FILE_NAME,
    ParallelSettings,
    check_error_threshold,
    check_failed_percent,
    check_partition_keys,
    check_positive,
    default_mini_batch_size,
    parse_mini_batch_size,
)
from .model_ref import ModelReferenceError, model_uri
from .scripts import MODEL_SCORING_SCRIPT, builtin_scripts_dir

LOGGING_LEVELS = ("DEBUG", "INFO", "WARNING")
PRIMITIVE_TYPES = ("integer", "number", "string", "boolean")
# Driver flags v2 takes in program_arguments that are fields of the plan model.
LIFTED_FLAGS = ("error_threshold", "allowed_failed_percent")
_WHOLE_BINDING = re.compile(r"^\$\{\{\s*(inputs|outputs)\.(\w+)\s*\}\}$")
_ANY_BINDING = re.compile(r"\$\{\{.*?\}\}")


class ValidationException(AmlBridgeError, ValueError):
    """`azure.ai.ml.exceptions.ValidationException`: a client-side check of a v2 entity failed."""


class RetrySettings:
    """`timeout` (seconds per `run()` call) and `max_retries` per mini-batch, kept exactly as given."""

    def __init__(self, *, timeout: int | str | None = None, max_retries: int | str | None = None,
                 **kwargs: Any) -> None:
        self.timeout = timeout
        self.max_retries = max_retries

    def _to_dict(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "max_retries": self.max_retries}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RetrySettings) and other._to_dict() == self._to_dict()

    def __repr__(self) -> str:
        return f"RetrySettings(timeout={self.timeout!r}, max_retries={self.max_retries!r})"


class ParallelTask:
    """What each worker runs: `type='run_function'` (an entry script) or `type='model'` (a model the
    built-in scoring script loads with MLflow and scores; no user code). `model` takes
    `models:/...`, `runs:/...`, `azureml:<name>:<version>` or an aml_bridge `Model`.
    """

    def __init__(self, *, type: str | None = None, code: str | None = None, entry_script: str | None = None,
                 program_arguments: str | None = None, model: Any = None, append_row_to: str | None = None,
                 environment: Any = None, **kwargs: Any) -> None:
        self.type = type
        self.code = code
        self.entry_script = entry_script
        self.program_arguments = program_arguments
        self.model = model
        self.append_row_to = append_row_to
        self.environment = environment


class RunFunction(ParallelTask):
    """`ParallelTask(type='run_function', ...)`; `append_row_to` unset means summary_only."""

    def __init__(self, *, code: str | None = None, entry_script: str | None = None,
                 program_arguments: str | None = None, model: str | None = None, append_row_to: str | None = None,
                 environment: Any = None, **kwargs: Any) -> None:
        super().__init__(type="run_function", code=code, entry_script=entry_script,
                         program_arguments=program_arguments, model=model, append_row_to=append_row_to,
                         environment=environment)


class Input:
    """`azure.ai.ml.Input`: data (`uri_folder`, `uri_file`, `mltable`, ...) or a primitive with a default."""

    def __init__(self, *, type: str = "uri_folder", path: str | None = None, mode: str | None = None,
                 default: Any = None, optional: bool | None = None, description: str | None = None,
                 **kwargs: Any) -> None:
        self.type, self.path, self.mode, self.default = type, path, mode, default
        self.optional, self.description = optional, description


class Output:
    """`azure.ai.ml.Output`: where a job writes (`uri_folder` / `uri_file` / `mltable`)."""

    def __init__(self, *, type: str = "uri_folder", path: str | None = None, mode: str | None = None,
                 description: str | None = None, **kwargs: Any) -> None:
        self.type, self.path, self.mode, self.description = type, path, mode, description


@dataclass
class JobResourceConfiguration:
    """`resources` of a job: `instance_count` is the v1 `node_count`."""

    instance_count: int | None = None
    instance_type: str | None = None
    docker_args: str | None = None
    shm_size: str | None = None


def _retry(value: Any) -> RetrySettings | None:
    return RetrySettings(**value) if isinstance(value, dict) else value


def _instance_count(resources: Any) -> int | None:
    return resources.get("instance_count") if isinstance(resources, dict) else getattr(resources, "instance_count",
                                                                                          None)


class ParallelComponent:
    """The reusable definition behind a `Parallel` node; `mini_batch_size` is stored in bytes (0 = unset)."""

    def __init__(self, *, name: str | None = None, version: str | None = None, description: str | None = None,
                 tags: dict[str, str] | None = None, display_name: str | None = None,
                 retry_settings: RetrySettings | dict[str, Any] | None = None, logging_level: str | None = None,
                 max_concurrency_per_instance: int | None = None, error_threshold: int | None = None,
                 mini_batch_error_threshold: int | None = None, task: ParallelTask | None = None,
                 mini_batch_size: str | int | None = None, partition_keys: list[str] | None = None,
                 input_data: str | None = None, resources: Any = None, inputs: dict[str, Any] | None = None,
                 outputs: dict[str, Any] | None = None, code: str | None = None, instance_count: int | None = None,
                 is_deterministic: bool = True, **kwargs: Any) -> None:
        if resources is not None and instance_count is not None:
            raise ValidationException("instance_count and resources are mutually exclusive")
        self.name, self.version, self.description, self.display_name = name, version, description, display_name
        self.tags = dict(tags or {})
        self.task, self.code, self.input_data = task, code, input_data
        self.retry_settings = _retry(retry_settings)
        self.logging_level = logging_level
        self.max_concurrency_per_instance = max_concurrency_per_instance
        self.error_threshold = error_threshold
        self.mini_batch_error_threshold = mini_batch_error_threshold
        self.mini_batch_size = 0 if mini_batch_size is None else parse_mini_batch_size(mini_batch_size)
        self.partition_keys = partition_keys
        self.inputs, self.outputs = dict(inputs or {}), dict(outputs or {})
        self.is_deterministic = is_deterministic
        self.resources = resources if instance_count is None else JobResourceConfiguration(instance_count)

    @property
    def instance_count(self) -> int | None:
        return _instance_count(self.resources)


class _Ports(dict):
    """A node's `inputs`/`outputs`: a dict that also reads and binds by attribute (`node.outputs.scores = ...`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no port named {name!r}; ports: {sorted(self)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class Parallel:
    """A parallel node (inside a v2 pipeline or standalone): a component plus job-level settings."""

    def __init__(self, *, component: ParallelComponent, name: str | None = None, description: str | None = None,
                 tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
                 display_name: str | None = None, experiment_name: str | None = None, compute: str | None = None,
                 inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None, identity: Any = None,
                 environment_variables: dict[str, str] | None = None, **kwargs: Any) -> None:
        self.component = component
        self.name, self.description, self.display_name = name, description, display_name
        self.tags, self.properties = dict(tags or {}), dict(properties or {})
        self.experiment_name, self.compute, self.identity = experiment_name, compute, identity
        self.inputs, self.outputs = _Ports(inputs or {}), _Ports(outputs or {})
        self.environment_variables = dict(environment_variables or {})
        self.resources = copy.copy(component.resources)  # set_resources must not change the component
        self._base_path = os.getcwd()  # the SDK resolves `code` against the cwd at construction
        # The SDK gives the node the component's settings too; here they are copied from it.
        self.task, self.input_data, self.retry_settings = component.task, component.input_data, component.retry_settings
        self.logging_level = component.logging_level
        self.max_concurrency_per_instance = component.max_concurrency_per_instance
        self.error_threshold = component.error_threshold
        self.mini_batch_error_threshold = component.mini_batch_error_threshold
        self.mini_batch_size, self.partition_keys = component.mini_batch_size, component.partition_keys
        self.is_deterministic = component.is_deterministic
        self._after: list[Any] = []  # run_after steps, when the node is a step of a v1 Pipeline
        self._step: Any = None

    @property
    def instance_count(self) -> int | None:
        return _instance_count(self.resources)

    def set_resources(self, *, instance_count: int | None = None, instance_type: str | None = None,
                      docker_args: str | None = None, shm_size: str | None = None, **kwargs: Any) -> None:
        if self.resources is None:
            self.resources = JobResourceConfiguration()
        for key, value in (("instance_count", instance_count), ("instance_type", instance_type),
                           ("docker_args", docker_args), ("shm_size", shm_size)):
            if value is not None and isinstance(self.resources, dict):
                self.resources[key] = value
            elif value is not None:
                setattr(self.resources, key, value)

    def _plan_extra(self) -> dict[str, Any]:
        """The `extra` of this node's `parallel_run` StepPlan (same schema as a v1 ParallelRunStep's)."""
        return plan_settings(self).to_extra()

    def __call__(self, **inputs: Any) -> Parallel:
        """Azure's `component(name=value, ...)`: a new node with these inputs bound (this one is unchanged).

        Data inputs take v1 data objects (a Dataset's `as_named_input(...)`, `PipelineData.as_dataset()`,
        an `OutputFileDatasetConfig`) or `Input(path=<one of those>)`, so the node can be a step of a
        v1 `Pipeline`; primitive inputs take values.
        """
        label = self.name or self.display_name or "parallel"
        unknown = sorted(set(inputs) - set(self.component.inputs))
        if unknown:
            raise _fail(label, f"no input named {', '.join(unknown)}; inputs: {sorted(self.component.inputs)}")
        node = copy.copy(self)
        node.inputs = _Ports({**self.inputs, **{k: v for k, v in inputs.items() if v is not None}})
        node.outputs, node._after, node._step = _Ports(self.outputs), list(self._after), None
        node.resources, node.environment_variables = copy.copy(self.resources), dict(self.environment_variables)
        node.tags, node.properties = dict(self.tags), dict(self.properties)
        return node

    def run_after(self, step: Any) -> None:
        """Run this node only after `step` (v1's control edge), e.g. after the step registering its model."""
        self._after.append(step)

    def _pipeline_step(self) -> Any:
        """This node as a step of a v1 `Pipeline` (made once, so the graph sees one step per node)."""
        if self._step is None:
            from .node_step import ParallelNodeStep

            self._step = ParallelNodeStep(self)
        return self._step


def parallel_run_function(*, name: str | None = None, description: str | None = None,
                          tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
                          display_name: str | None = None, experiment_name: str | None = None,
                          compute: str | None = None, retry_settings: RetrySettings | dict[str, Any] | None = None,
                          environment_variables: dict[str, str] | None = None, logging_level: str | None = None,
                          max_concurrency_per_instance: int | None = None, error_threshold: int | None = None,
                          mini_batch_error_threshold: int | None = None, task: ParallelTask | None = None,
                          mini_batch_size: str | int | None = None, partition_keys: list[str] | None = None,
                          input_data: str | None = None, inputs: dict[str, Any] | None = None,
                          outputs: dict[str, Any] | None = None, instance_count: int | None = None,
                          instance_type: str | None = None, docker_args: str | None = None,
                          shm_size: str | None = None, identity: Any = None, is_deterministic: bool = True,
                          **kwargs: Any) -> Parallel:
    """A `Parallel` node; `instance_count` and friends go to the node's resources, as in the SDK."""
    component = kwargs.pop("component", None) or ParallelComponent(
        name=name, tags=tags, code=getattr(task, "code", None), display_name=display_name, description=description,
        inputs=inputs, outputs=outputs, retry_settings=retry_settings, logging_level=logging_level,
        max_concurrency_per_instance=max_concurrency_per_instance, error_threshold=error_threshold,
        mini_batch_error_threshold=mini_batch_error_threshold, task=task, mini_batch_size=mini_batch_size,
        partition_keys=partition_keys, input_data=input_data, is_deterministic=is_deterministic, **kwargs)
    node = Parallel(component=component, name=name, description=description, tags=tags, properties=properties,
                    display_name=display_name, experiment_name=experiment_name, compute=compute,
                    inputs={k: v for k, v in (inputs or {}).items() if v is not None}, outputs=outputs,
                    identity=identity, environment_variables=environment_variables)
    if any(v is not None for v in (instance_count, instance_type, docker_args, shm_size)):
        node.set_resources(instance_count=instance_count, instance_type=instance_type, docker_args=docker_args,
                           shm_size=shm_size)
    return node


# --- mapping onto the plan model (AML_API §4.7's table) -------------------------------------------


def _fail(label: str, message: str) -> PipelineDefinitionError:
    return PipelineDefinitionError(f"Parallel [{label}]: {message}")


def _is_data(value: Any) -> bool:
    """A data input (a port) rather than a primitive value."""
    if isinstance(value, (bool, int, float, str)):
        return False
    return getattr(value, "type", None) not in PRIMITIVE_TYPES


def _input_kind(value: Any) -> str:
    """`mltable` in direct mode is tabular (DataFrames by bytes); folders, files, mounted tables: file lists."""
    return "tabular" if getattr(value, "type", None) == "mltable" and getattr(value, "mode", None) in (
        None, "direct") else "file"


def _bound_name(label: str, field: str, value: Any, group: str) -> str:
    match = _WHOLE_BINDING.match(value) if isinstance(value, str) else None
    if match is None or match[1] != group:
        raise _fail(label, f"{field} must be '${{{{{group}.<name>}}}}', got {value!r}")
    return match[2]


def _argument(label: str, token: str, node: Parallel) -> dict[str, str]:
    """One program_arguments token: a port reference, a primitive input's value, or literal text."""
    match = _WHOLE_BINDING.match(token)
    if match is None:
        if _ANY_BINDING.search(token):
            raise _fail(label, f"program_arguments token {token!r} embeds a binding; put each "
                               "${{inputs.x}} / ${{outputs.y}} in a token of its own")
        return {"kind": "literal", "value": token}
    group, name = match[1], match[2]
    values = node.inputs if group == "inputs" else node.outputs
    if name not in values:
        raise _fail(label, f"program_arguments refers to {group}.{name}, which is not defined; "
                           f"{group}: {sorted(values)}")
    value = values[name]
    if group == "inputs" and not _is_data(value):
        return {"kind": "literal", "value": str(getattr(value, "default", value))}
    return {"kind": "port", "value": name}


def _number(label: str, flag: str, text: str) -> int | float:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    raise _fail(label, f"program_arguments {flag} needs a number, got {text!r}")


def _program_arguments(label: str, node: Parallel, text: str | None) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Arguments for the entry script, and the driver flags that are plan fields (LIFTED_FLAGS)."""
    tokens = shlex.split(text or "")
    arguments: list[dict[str, str]] = []
    lifted: dict[str, Any] = {}
    index = 0
    while index < len(tokens):
        flag, has_value, inline = tokens[index].partition("=")
        if flag.startswith("--") and flag[2:] in LIFTED_FLAGS:
            if not has_value and index + 1 >= len(tokens):
                raise _fail(label, f"program_arguments {flag} has no value")
            text = inline if has_value else tokens[index + 1]
            lifted[flag[2:]] = _number(label, flag, text)
            index += 1 if has_value else 2
            continue
        arguments.append(_argument(label, tokens[index], node))
        index += 1
    return arguments, lifted


def _retry_value(label: str, retry: RetrySettings | None, key: str, default: int) -> int:
    value = getattr(retry, key, None) if retry is not None else None
    if value is None:
        return default
    if isinstance(value, str) and _ANY_BINDING.search(value):
        raise _fail(label, f"retry_settings.{key} binds {value!r}; only a number can be planned")
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "timeout" else 0):
        raise _fail(label, f"retry_settings.{key} must be an int {'> 0' if key == 'timeout' else '>= 0'}, "
                           f"got {value!r}")
    return value


def _environment(env: Any) -> tuple[str | None, str | None]:
    """`azureml:name:version`, `azureml:name@label` or an Environment object -> (name, version)."""
    if env is None:
        return None, None
    if isinstance(env, str):
        name, _, version = env.removeprefix("azureml:").partition(":")
        return name.partition("@")[0], version or None
    number = getattr(env, "version", None)
    return getattr(env, "name", None), None if number is None else str(number)


def _threshold(label: str, node: Parallel, lifted: dict[str, Any]) -> int:
    given, flag = node.error_threshold, lifted.get("error_threshold")
    if given is not None and flag is not None and given != flag:
        raise _fail(label, f"error_threshold={given} and program_arguments --error_threshold {flag} disagree")
    return check_error_threshold("error_threshold", given if given is not None else -1 if flag is None else flag)


def _logging_level(label: str, value: str | None) -> str:
    level = (value or "INFO").upper()
    if level not in LOGGING_LEVELS:
        raise _fail(label, f"logging_level must be one of {', '.join(LOGGING_LEVELS)}, got {value!r}")
    return level


def _task_code(label: str, node: Parallel) -> tuple[str, str, str | None]:
    """(entry script, its folder, model URI): the user's script, or the built-in one for a model."""
    task = node.task
    if isinstance(task, ParallelTask) and task.type == "model":
        if task.entry_script or task.code:
            raise _fail(label, "task type 'model' scores the model without user code; drop entry_script/code "
                               "or use type='run_function'")
        if task.model is None:
            raise _fail(label, "task type 'model' needs model= (models:/<name>/<version>, runs:/<run_id>/<path>, "
                               "azureml:<name>:<version> or a Model)")
        if not task.append_row_to:
            raise _fail(label, "task type 'model' needs append_row_to='${{outputs.<name>}}': the predictions are "
                               "its only output")
        try:
            uri = model_uri(task.model)
        except ModelReferenceError as exc:
            raise _fail(label, f"task.{exc}") from None
        return MODEL_SCORING_SCRIPT, builtin_scripts_dir(), uri
    if not isinstance(task, ParallelTask) or task.type != "run_function" or not task.entry_script:
        raise _fail(label, "task must be a RunFunction (ParallelTask type 'run_function') with an entry_script, "
                           "or a ParallelTask of type 'model' with a model")
    return task.entry_script, os.path.abspath(os.path.join(node._base_path, task.code or ".")), None


def plan_settings(node: Parallel) -> ParallelSettings:
    """The node as the shared plan model; a bad field raises naming the v2 field."""
    label, task = node.name or node.display_name or "parallel", node.task
    script, source, model = _task_code(label, node)
    main = _bound_name(label, "input_data", node.input_data, "inputs")
    if main not in node.inputs or not _is_data(node.inputs[main]):
        raise _fail(label, f"input_data refers to inputs.{main}, which is not a data input; inputs: "
                           f"{sorted(node.inputs)}")
    output = _bound_name(label, "task.append_row_to", task.append_row_to, "outputs") if task.append_row_to else None
    if output is not None and output not in node.outputs:
        raise _fail(label, f"task.append_row_to refers to outputs.{output}; outputs: {sorted(node.outputs)}")
    arguments, lifted = _program_arguments(label, node, task.program_arguments)
    kind, keys, retry = _input_kind(node.inputs[main]), node.partition_keys, node.retry_settings
    failed_count, processes = node.mini_batch_error_threshold, node.max_concurrency_per_instance
    percent = lifted.get("allowed_failed_percent")
    name, version = _environment(task.environment)
    return ParallelSettings(
        api="v2", entry_script=script, source_directory=source, model=model, input_kind=kind,
        inputs=[main], side_inputs=[n for n, v in node.inputs.items() if n != main and _is_data(v)], output=output,
        mini_batch_size=None if keys else node.mini_batch_size or default_mini_batch_size(kind),
        partition_keys=check_partition_keys(keys) if keys else None,
        node_count=check_positive("instance_count", 1 if node.instance_count is None else node.instance_count),
        process_count_per_node=None if processes is None else check_positive("max_concurrency_per_instance",
                                                                             processes),
        error_threshold=_threshold(label, node, lifted),
        allowed_failed_count=None if failed_count is None else check_error_threshold("mini_batch_error_threshold",
                                                                                   failed_count),
        allowed_failed_percent=None if percent is None else check_failed_percent(percent),
        run_invocation_timeout=_retry_value(label, retry, "timeout", 60),
        run_max_try=_retry_value(label, retry, "max_retries", 2) + 1,  # retries after the first try
        output_action="append_row" if output else "summary_only",
        append_row_file_name=DEFAULT_APPEND_ROW_FILE_NAME if output else None,
        logging_level=_logging_level(label, node.logging_level), environment=name, environment_version=version,
        environment_variables={str(k): str(v) for k, v in node.environment_variables.items()},
        arguments=arguments, retry_settings=None if retry is None else retry._to_dict())


__all__ = ["Input", "JobResourceConfiguration", "LIFTED_FLAGS", "LOGGING_LEVELS", "Output", "Parallel",
           "ParallelComponent", "ParallelTask", "RetrySettings", "RunFunction", "ValidationException",
           "parallel_run_function", "plan_settings"]
