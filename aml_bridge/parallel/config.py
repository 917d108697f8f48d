"""v1 `ParallelRunConfig` with Azure's defaults and checks (AML_API §4.1), and `ParallelSettings`:
the pure-data form of a parallel step that v1 and v2 both plan to (`StepPlan.extra`).

Checks run at construction, as Azure's do, so a bad config fails in the DAG file, not on a worker.
Fields Azure lets a `PipelineParameter` carry keep it; its default is checked like a literal.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..compute import AmlCompute
from ..pipeline.errors import PipelineDefinitionError
from ..pipeline.parameter import PipelineParameter
from ..train.environment import Environment

OUTPUT_ACTIONS = ("append_row", "summary_only")
DEFAULT_APPEND_ROW_FILE_NAME = "parallel_run_step.txt"
DEFAULT_FILE_MINI_BATCH_SIZE = 10              # files per run() call
DEFAULT_TABULAR_MINI_BATCH_SIZE = 1024 * 1024  # approximate bytes per run() call
# Azure's pattern is `^\d+([kKmMgG][bB])*$`; a repeated unit ("1kbmb") fails its int() anyway.
_SIZE = re.compile(r"^(\d+)([kKmMgG][bB])?$")
_UNITS = {"": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
_BAD_FILE_NAME = re.compile(r'[~"#%&*:<>?/\\{|}]')
# Config fields Azure lets a PipelineParameter carry (error thresholds must be literal ints).
PARAMETERIZABLE = ("node_count", "process_count_per_node", "mini_batch_size", "logging_level",
                   "run_invocation_timeout", "run_max_try", "partition_keys")


def _fail(message: str) -> PipelineDefinitionError:
    return PipelineDefinitionError(message)


def default_of(value: Any) -> Any:
    """A PipelineParameter's default, else the value itself."""
    return value.default_value if isinstance(value, PipelineParameter) else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_mini_batch_size(value: Any) -> int:
    """`10` / `"10"` -> 10; `"5kb"`, `"10MB"`, `"1GB"` (any case) -> bytes (x1024^n). Else ValueError."""
    if not (_is_int(value) or isinstance(value, str)):
        raise _fail(f"Parameter mini_batch_size must be of type int or str, got {type(value).__name__}")
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match is None:
            raise _fail(rf"Parameter mini_batch_size must follow regex rule ^\d+([kKmMgG][bB])*$ "
                        f"(KB, MB or GB), got {value!r}")
        value = int(match[1]) * _UNITS[(match[2] or "").lower()]
    if value < 1:
        raise _fail(f"Parameter mini_batch_size must be at least 1, got {value}")
    return value


def check_error_threshold(name: str, value: Any) -> int:
    """`error_threshold` / `allowed_failed_count`: an int >= -1 (-1 ignores failures)."""
    if not _is_int(value) or value < -1:
        raise _fail(f"{name} '{value}' is not an int value greater than or equal to -1.")
    return value


def check_failed_percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"allowed_failed_percent '{value}' is not an int or float.")
    if not 0 <= value <= 100:
        raise _fail(f"allowed_failed_percent '{value}' is not between 0 and 100.")
    return value


def check_positive(name: str, value: Any) -> int:
    """`node_count`, `process_count_per_node`, `run_invocation_timeout`, `run_max_try`: an int > 0."""
    if not _is_int(value) or value < 1:
        raise _fail(f"Parameter {name} must be an integer greater than 0, got {value!r}")
    return value


def check_output_action(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in OUTPUT_ACTIONS:
        raise _fail(f"Parameter output_action must be summary_only or append_row, got {value!r}")
    return value.lower()


def check_file_name(value: Any) -> str:
    """`append_row_file_name`: a plain UNIX file name (no folder, none of Azure's forbidden characters)."""
    if not isinstance(value, str) or not value or _BAD_FILE_NAME.search(value):
        raise _fail(f"Parameter append_row_file_name must be a valid UNIX file name, got {value!r} "
                    "(none of ~ \" # % & * : < > ? / \\ { | })")
    return value


def check_partition_keys(value: Any) -> list[str]:
    """A list of column names; a PipelineParameter's default may be that list as JSON."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise _fail(f"partition_keys {value!r} is not a JSON list of strings") from exc
    if not isinstance(value, list) or not value or not all(isinstance(k, str) and k for k in value):
        raise _fail(f"partition_keys must be a non-empty list of strings, got {value!r}")
    return list(value)


class ParallelRunConfig:
    """`azureml.pipeline.steps.ParallelRunConfig`: how a ParallelRunStep splits and runs its input."""

    def __init__(self, environment: Environment, entry_script: str, error_threshold: int, output_action: str,
                 compute_target: Any, node_count: int | PipelineParameter,
                 process_count_per_node: int | PipelineParameter | None = None,
                 mini_batch_size: int | str | PipelineParameter | None = None, source_directory: str | None = None,
                 description: str | None = None, logging_level: str | PipelineParameter = "INFO",
                 run_invocation_timeout: int | PipelineParameter = 60, run_max_try: int | PipelineParameter = 3,
                 append_row_file_name: str | None = None, allowed_failed_count: int | None = None,
                 allowed_failed_percent: float | None = None,
                 partition_keys: list[str] | PipelineParameter | None = None,
                 environment_variables: dict[str, str] | None = None) -> None:
        self.environment = environment
        self.entry_script = entry_script.strip() if isinstance(entry_script, str) else entry_script
        self.error_threshold = error_threshold
        self.output_action = output_action
        self.compute_target = compute_target
        self.node_count = node_count
        self.process_count_per_node = process_count_per_node
        self.mini_batch_size = mini_batch_size
        self.source_directory = source_directory.strip() if isinstance(source_directory, str) else source_directory
        self.description = description
        self.logging_level = "INFO" if logging_level is None else logging_level
        self.run_invocation_timeout = 60 if run_invocation_timeout is None else run_invocation_timeout
        self.run_max_try = 3 if run_max_try is None else run_max_try
        self.append_row_file_name = append_row_file_name
        self.allowed_failed_count = allowed_failed_count
        self.allowed_failed_percent = allowed_failed_percent
        self.partition_keys = partition_keys
        self.environment_variables = dict(environment_variables or {})
        self._validate()

    def _validate(self) -> None:
        if self.environment is None:
            raise _fail("Parameter environment is required. It should be instance of azureml.core.Environment.")
        if not isinstance(self.environment, Environment):
            raise _fail("Parameter environment must be an instance of azureml.core.Environment. "
                        f"The actual value is {self.environment!r}.")
        if not isinstance(self.entry_script, str) or not self.entry_script:
            raise _fail("Parameter entry_script is required: the script (relative to source_directory) that "
                        "defines init() and run(mini_batch)")
        check_output_action(self.output_action)
        check_error_threshold("error_threshold", self.error_threshold)
        if self.allowed_failed_count is not None:
            check_error_threshold("allowed_failed_count", self.allowed_failed_count)
        if self.allowed_failed_percent is not None:
            check_failed_percent(self.allowed_failed_percent)
        self._validate_parameterizable()
        if self.output_action.lower() == "append_row" and self.append_row_file_name is not None:
            check_file_name(self.append_row_file_name)

    def _validate_parameterizable(self) -> None:
        if self.mini_batch_size is not None and self.partition_keys is not None:
            raise _fail("mini_batch_size and partition_keys are mutually exclusive: partition_keys makes one "
                        "mini-batch per key combination")
        if self.mini_batch_size is not None:
            size = parse_mini_batch_size(default_of(self.mini_batch_size))
            if not isinstance(self.mini_batch_size, PipelineParameter):
                self.mini_batch_size = size
        if self.partition_keys is not None:
            check_partition_keys(default_of(self.partition_keys))
        for name in ("node_count", "run_invocation_timeout", "run_max_try"):
            check_positive(name, default_of(getattr(self, name)))
        if self.process_count_per_node is not None:
            check_positive("process_count_per_node", default_of(self.process_count_per_node))
        target = self.compute_target
        nodes = self.node_count
        if isinstance(target, AmlCompute) and isinstance(nodes, int) and nodes > target.max_nodes:
            raise _fail(f"node_count '{nodes}' is not between 1 and max_nodes {target.max_nodes}.")
        if not isinstance(default_of(self.logging_level), str):
            raise _fail(f"Parameter logging_level must be a logging level name, got {self.logging_level!r}")

    @property
    def compute_target_name(self) -> str | None:
        target = self.compute_target
        return target if isinstance(target, str) or target is None else getattr(target, "name", None)

    def parameters(self) -> dict[str, PipelineParameter]:
        """{field: PipelineParameter} for the fields bound to a pipeline parameter."""
        return {name: getattr(self, name) for name in PARAMETERIZABLE
                if isinstance(getattr(self, name), PipelineParameter)}

    def save_to_yaml(self, path: str) -> None:
        """Write `parallel_run_config:`. Like Azure, `allowed_failed_*` are not written (AML_API Δ15)."""
        import yaml

        config = {
            "mini_batch_size": default_of(self.mini_batch_size), "error_threshold": self.error_threshold,
            "output_action": self.output_action, "logging_level": default_of(self.logging_level),
            "compute_target_name": self.compute_target_name, "node_count": default_of(self.node_count),
            "process_count_per_node": default_of(self.process_count_per_node), "entry_script": self.entry_script,
            "source_directory": self.source_directory, "description": self.description,
            "run_invocation_timeout": default_of(self.run_invocation_timeout),
            "run_max_try": default_of(self.run_max_try), "append_row_file_name": self.append_row_file_name,
            "partition_keys": default_of(self.partition_keys), "environment_variables": self.environment_variables,
            "environment": self.environment._to_dict(),
        }
        with open(path, "w") as fh:
            yaml.safe_dump({"parallel_run_config": config}, fh, sort_keys=False)

    @staticmethod
    def load_yaml(workspace: Any, path: str) -> ParallelRunConfig:
        """Read the `parallel_run_config:` block; the compute target and environment resolve in `workspace`."""
        import yaml

        with open(path) as fh:
            document = yaml.safe_load(fh) or {}
        if not isinstance(document.get("parallel_run_config"), dict):
            raise _fail(f"{path} has no 'parallel_run_config:' mapping")
        config = document["parallel_run_config"]
        size = config.get("mini_batch_size")
        return ParallelRunConfig(
            environment=_load_environment(workspace, config), entry_script=config.get("entry_script"),
            error_threshold=config.get("error_threshold"), output_action=config.get("output_action"),
            compute_target=_load_target(workspace, config.get("compute_target_name")),
            node_count=config.get("node_count"), process_count_per_node=config.get("process_count_per_node"),
            mini_batch_size=None if size is None else str(size), source_directory=config.get("source_directory"),
            description=config.get("description"), logging_level=config.get("logging_level"),
            run_invocation_timeout=config.get("run_invocation_timeout"), run_max_try=config.get("run_max_try"),
            append_row_file_name=config.get("append_row_file_name"),
            allowed_failed_count=config.get("allowed_failed_count"),
            allowed_failed_percent=config.get("allowed_failed_percent"),
            partition_keys=config.get("partition_keys"), environment_variables=config.get("environment_variables"))

    def __repr__(self) -> str:
        return (f"ParallelRunConfig(entry_script={self.entry_script!r}, output_action={self.output_action!r}, "
                f"mini_batch_size={self.mini_batch_size!r}, node_count={self.node_count!r})")


def _load_environment(workspace: Any, config: dict[str, Any]) -> Environment:
    """`environment:` (a definition), else Azure's older `environment_dir_path` / `environment_name`."""
    if isinstance(config.get("environment"), dict):
        return Environment._from_dict(config["environment"])
    if config.get("environment_dir_path"):
        return Environment.load_from_directory(config["environment_dir_path"])
    if config.get("environment_name"):
        return Environment.get(workspace, config["environment_name"], config.get("environment_version"))
    raise _fail("parallel_run_config has no environment (environment, environment_dir_path or environment_name)")


def _load_target(workspace: Any, name: str | None) -> Any:
    if not name or workspace is None:
        return name
    from ..compute import ComputeTarget

    return ComputeTarget(workspace, name)


@dataclass
class ParallelSettings:
    """What the mini-batch driver needs, as JSON (`StepPlan.extra` of a `parallel_run` step).

    Port names refer to the StepPlan's inputs/outputs. `mini_batch_size` counts files for `file`
    input and approximate bytes for `tabular` input (None with `partition_keys`). None thresholds
    are not enforced. `parameters` maps a field to the pipeline parameter whose submitted value
    replaces the default stored in that field. A `model` step runs the built-in scoring script
    (`entry_script`/`source_directory` point at it) on the model `model` names.
    """

    api: str
    entry_script: str
    source_directory: str | None
    input_kind: str
    inputs: list[str]
    side_inputs: list[str]
    output: str | None
    mini_batch_size: int | None
    partition_keys: list[str] | None
    node_count: int
    process_count_per_node: int | None
    error_threshold: int
    allowed_failed_count: int | None
    allowed_failed_percent: float | None
    run_invocation_timeout: int
    run_max_try: int
    output_action: str
    append_row_file_name: str | None
    logging_level: str
    environment: str | None
    environment_version: str | None
    environment_variables: dict[str, str] = field(default_factory=dict)
    arguments: list[dict[str, str]] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    rank_mini_batch_count: int = 0
    retry_settings: dict[str, Any] | None = None
    model: str | None = None  # `ParallelTask(type='model')`: the MLflow URI the built-in scoring script loads

    @property
    def mini_batch_unit(self) -> str:
        return "bytes" if self.input_kind == "tabular" else "items"

    def to_extra(self) -> dict[str, Any]:
        return {**asdict(self), "mini_batch_unit": self.mini_batch_unit}

    def with_parameters(self, values: dict[str, Any]) -> ParallelSettings:
        """The settings of one submission: fields bound to a pipeline parameter take its value, checked
        as the literal would have been (a bad submitted value fails the step naming the field)."""
        changes: dict[str, Any] = {}
        for name, parameter in self.parameters.items():
            if parameter not in values:
                continue
            try:
                changes[name] = _submitted(name, values[parameter])
            except ValueError as exc:
                raise _fail(f"{name} takes pipeline parameter {parameter!r}, whose submitted value is not valid: "
                            f"{exc}") from None
        return ParallelSettings(**{**asdict(self), **changes})

    @staticmethod
    def from_extra(extra: dict[str, Any]) -> ParallelSettings:
        names = {f.name for f in fields(ParallelSettings)}
        return ParallelSettings(**{k: v for k, v in extra.items() if k in names})


def _submitted(name: str, value: Any) -> Any:
    """A submitted parameter value for config field `name`, checked as the literal would have been."""
    if name == "mini_batch_size":
        return parse_mini_batch_size(value)
    if name == "partition_keys":
        return check_partition_keys(value)
    if name == "logging_level":
        return str(value)
    return check_positive(name, int(value) if isinstance(value, str) and value.isdigit() else value)


def default_mini_batch_size(input_kind: str) -> int:
    """Azure's default when none is given: 10 files, or 1 MB of tabular data."""
    return DEFAULT_TABULAR_MINI_BATCH_SIZE if input_kind == "tabular" else DEFAULT_FILE_MINI_BATCH_SIZE


__all__ = ["DEFAULT_APPEND_ROW_FILE_NAME", "DEFAULT_FILE_MINI_BATCH_SIZE", "DEFAULT_TABULAR_MINI_BATCH_SIZE",
           "OUTPUT_ACTIONS", "PARAMETERIZABLE", "ParallelRunConfig", "ParallelSettings", "check_error_threshold",
           "check_failed_percent", "check_file_name", "check_output_action", "check_partition_keys", "check_positive",
           "default_mini_batch_size", "default_of", "parse_mini_batch_size"]
