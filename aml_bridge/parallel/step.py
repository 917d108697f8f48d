"""v1 `ParallelRunStep` (AML_API §4.2): split the inputs into mini-batches and call the entry script.

Azure builds it as a PythonScriptStep that runs its own driver; here it is a step kind of its own
(`parallel_run`) whose plan carries everything the driver needs in `extra` (a `ParallelSettings`),
so the Airflow side can run it without any Python object from the DAG file.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from typing import Any

from ..data.data_reference import DataReference
from ..data.dataset import FileDataset, TabularDataset
from ..data.dataset_consumption_config import DatasetConsumptionConfig
from ..data.output_dataset_config import OutputFileDatasetConfig, OutputTabularDatasetConfig
from ..pipeline.arguments import Arg, process_arguments
from ..pipeline.errors import PipelineDefinitionError
from ..pipeline.parameter import PipelineParameter
from ..pipeline.pipeline_data import (
    InputPortBinding,
    PipelineData,
    PipelineOutputFileDataset,
    PipelineOutputTabularDataset,
)
from ..pipeline.runconfig import compute_target_name, runconfig_env
from ..pipeline.step import PipelineStep
from .config import (
    DEFAULT_APPEND_ROW_FILE_NAME,
    ParallelRunConfig,
    ParallelSettings,
    check_partition_keys,
    default_mini_batch_size,
    default_of,
    parse_mini_batch_size,
)

# Driver flags a user argument may not set (Azure 1.62's list).
RESERVED_ARGUMENTS = ("mini_batch_size", "error_threshold", "allowed_failed_count", "allowed_failed_percent",
                      "output", "output_action", "logging_level", "process_count_per_node",
                      "run_invocation_timeout", "run_max_try", "append_row_file_name", "partition_keys")
ALLOWED_INPUTS = ("DatasetConsumptionConfig", "PipelineOutputFileDataset", "PipelineOutputTabularDataset",
                  "OutputFileDatasetConfig", "OutputTabularDatasetConfig")
_TABULAR = (TabularDataset, OutputTabularDatasetConfig, PipelineOutputTabularDataset)
_FILE = (FileDataset, OutputFileDatasetConfig, PipelineOutputFileDataset)
_PASS_THROUGH = (PipelineData, DataReference, InputPortBinding, tuple)


def _fail(step: str, message: str) -> PipelineDefinitionError:
    return PipelineDefinitionError(f"Step [{step}]: {message}")


def check_arguments(step: str, arguments: list[Any]) -> None:
    """The driver merges its own flags in front, so user arguments must be keyword-style and not reserved."""
    if not arguments:
        return
    first = arguments[0]
    if not (isinstance(first, str) and first.startswith("-")):
        raise _fail(step, f"Found invalid argument '{first}'. As your arguments will be merged with reserved "
                          "argument, you can only use keyword argument: the first argument must start with '-'.")
    for item in arguments:
        if isinstance(item, str) and item.startswith("--"):
            name = item[2:].split("=")[0]
            if name in RESERVED_ARGUMENTS:
                raise _fail(step, f"'{name}' is a reserved argument in ParallelRunStep, please use another "
                                  f"argument name instead. Reserved: {', '.join(RESERVED_ARGUMENTS)}")


def rank_mini_batch_count(step: str, arguments: list[Any]) -> int:
    """`--rank_mini_batch_count N` (N > 0) runs N input-less mini-batches instead of partitioning inputs."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--rank_mini_batch_count", type=int, default=0)
    try:
        known, _ = parser.parse_known_args([str(item) for item in arguments])
    except argparse.ArgumentError as exc:
        raise _fail(step, f"--rank_mini_batch_count must be an integer: {exc}") from exc
    return max(known.rank_mini_batch_count, 0)


def input_kind(step: str, item: Any) -> str:
    """`file` or `tabular`; tabular data must be consumed in direct mode."""
    dataset, mode = item, getattr(item, "mode", None)
    if isinstance(item, DatasetConsumptionConfig):
        dataset = default_of(item.dataset)
    elif not isinstance(item, PipelineOutputFileDataset):
        hint = " (promote it with .as_dataset())" if isinstance(item, (PipelineData, InputPortBinding)) else ""
        raise _fail(step, f"Step input must be of any type: {', '.join(ALLOWED_INPUTS)}, found "
                          f"{type(item).__name__}{hint}")
    if isinstance(dataset, _TABULAR) or getattr(dataset, "_is_tabular", False):
        if mode != "direct":
            raise _fail(step, f"Please ensure input dataset consumption mode is direct (tabular input "
                              f"{getattr(item, 'name', '')!r} is in {mode} mode)")
        return "tabular"
    if isinstance(dataset, _FILE):
        return "file"
    raise _fail(step, f"input {getattr(item, 'name', item)!r} wraps {type(dataset).__name__}, not a "
                      "FileDataset or TabularDataset")


def _as_inputs(items: list[Any], arguments: list[Any]) -> list[Any]:
    """Output configs listed as inputs are consumed with `.as_input()`; arguments follow the swap."""
    converted = []
    for item in items:
        if isinstance(item, OutputFileDatasetConfig):
            new = item.as_input()
            arguments[:] = [new if arg is item else arg for arg in arguments]
            item = new
        converted.append(item)
    return converted


def set_input_modes(step: PipelineStep, main_count: int, partitioned: bool) -> None:
    """File datasets are mounted (each worker lists its files), except partitioned main inputs: direct."""
    for index, port in enumerate(step._in_ports):
        if port.kind != "dataset" or port.dataset_type != "file":
            continue
        if index < main_count and partitioned:
            if port.mode != "direct":
                raise _fail(step.name, f"input {step._label(port)} must be in direct mode: partition_keys "
                                       "need a partitioned dataset, not a mounted folder")
        else:
            port.mode = "mount"


class ParallelRunStep(PipelineStep):
    """`azureml.pipeline.steps.ParallelRunStep`: mini-batch processing of one kind of input."""

    kind = "parallel_run"
    _rename_colliding_inputs = True

    def __init__(self, name: str, parallel_run_config: ParallelRunConfig, inputs: list[Any],
                 output: Any = None, side_inputs: list[Any] | None = None, arguments: list[Any] | None = None,
                 allow_reuse: bool = True) -> None:
        if not isinstance(parallel_run_config, ParallelRunConfig):
            raise _fail(name, "Param parallel_run_config must be a azureml.pipeline.steps.ParallelRunConfig, got "
                              f"{type(parallel_run_config).__name__}")
        config = self.parallel_run_config = parallel_run_config
        arguments = list(arguments or [])
        check_arguments(name, arguments)
        self.rank_mini_batch_count = rank_mini_batch_count(name, arguments)
        inputs = _as_inputs(list(inputs or []), arguments)
        side = _as_inputs(list(side_inputs or []), arguments)
        self.input_kind = self._check_inputs(name, inputs)
        for item in side:
            if not isinstance(item, _PASS_THROUGH):
                input_kind(name, item)
        outputs = self._check_output(name, output)
        self._check_source(name)
        self.compute_target = compute_target_name(name, config.compute_target, None)
        # Azure passes these as driver arguments, so they become `params` (AML_PARAMETER_*); node_count
        # is a runconfig property instead.
        self.params: dict[str, Any] = {p.name: p for f, p in config.parameters().items() if f != "node_count"}
        self.runconfig_pipeline_params = ({"NodeCount": config.node_count}
                                          if isinstance(config.node_count, PipelineParameter) else {})
        self._input_count = len(inputs)
        all_inputs = inputs + side  # datasets only named in `arguments` are appended: side inputs
        processed = process_arguments(name, arguments, all_inputs, outputs, self.params)
        if len(outputs) > (output is not None):
            raise _fail(name, "a ParallelRunStep has one output (`output`); an output config in arguments must "
                              "be that output")
        super().__init__(name, all_inputs, outputs, processed, allow_reuse)
        self._set_input_modes(name)

    def _check_inputs(self, name: str, inputs: list[Any]) -> str:
        """All main inputs share one kind; none at all only with `--rank_mini_batch_count` (file kind)."""
        if not inputs and not self.rank_mini_batch_count:
            raise _fail(name, "The parameter 'inputs' must be a list and have at least one element or "
                              "rank_mini_batch_count must be greater than zero.")
        kinds = {input_kind(name, item) for item in inputs}
        if len(kinds) > 1:
            raise _fail(name, "All inputs of step must be same type (FileDataset or TabularDataset inputs, "
                              "not both)")
        return kinds.pop() if kinds else "file"

    def _check_output(self, name: str, output: Any) -> list[Any]:
        if output is None:
            if self.parallel_run_config.output_action.lower() != "summary_only":
                raise _fail(name, "Please specify output parameter. (output_action 'append_row' writes the "
                                  "results to it)")
            return []
        if not isinstance(output, (PipelineData, OutputFileDatasetConfig, PipelineOutputFileDataset)):
            raise _fail(name, f"output must be a PipelineData or OutputFileDatasetConfig, got "
                              f"{type(output).__name__}")
        return [output]

    def _check_source(self, name: str) -> None:
        """Azure checks source_directory and entry_script now when a source_directory is given."""
        config = self.parallel_run_config
        folder = config.source_directory
        self._abs_source_directory = os.path.abspath(folder) if folder else None
        if not folder:
            return
        if not os.path.exists(folder):
            raise _fail(name, f"The value '{folder}' specified in source_directory doesn't exist.")
        if not os.path.isdir(folder):
            raise _fail(name, f"The value '{folder}' specified in source_directory is not a directory.")
        script = os.path.join(folder, config.entry_script)
        if not os.path.exists(script):
            raise _fail(name, f"The value '{config.entry_script}' specified in entry_script doesn't exist "
                              f"(looked for {os.path.abspath(script)}).")
        if not os.path.isfile(script):
            raise _fail(name, f"The value '{config.entry_script}' specified in entry_script is not a file.")

    def _set_input_modes(self, name: str) -> None:
        set_input_modes(self, self._input_count, self.parallel_run_config.partition_keys is not None)

    @property
    def arguments(self) -> list[Arg]:
        return self._arguments

    @property
    def mini_batch_size(self) -> int | None:
        """Per `run()` call: files (file input) or approximate bytes (tabular); None with partition_keys."""
        config = self.parallel_run_config
        if config.partition_keys is not None:
            return None
        if config.mini_batch_size is None:
            return default_mini_batch_size(self.input_kind)
        return parse_mini_batch_size(default_of(config.mini_batch_size))

    def _source_directory(self, default: str) -> str:
        return self._abs_source_directory or default

    def _check_at_build(self, context: Any) -> None:
        script = os.path.join(self._source_directory(context.default_source_directory),
                              self.parallel_run_config.entry_script)
        if not os.path.isfile(script):
            raise _fail(self.name, f"entry_script not found at: {os.path.abspath(script)}. Set source_directory "
                                   "on the ParallelRunConfig or default_source_directory on the Pipeline.")

    def _settings(self, source: str, arguments: list[Any]) -> ParallelSettings:
        config, count = self.parallel_run_config, self._input_count
        append_row = config.output_action.lower() == "append_row"
        keys = config.partition_keys
        return ParallelSettings(
            api="v1", entry_script=config.entry_script, source_directory=source, input_kind=self.input_kind,
            inputs=[p.name for p in self._in_ports[:count]], side_inputs=[p.name for p in self._in_ports[count:]],
            output=self._out_ports[0].name if self._out_ports else None, mini_batch_size=self.mini_batch_size,
            partition_keys=None if keys is None else check_partition_keys(default_of(keys)),
            node_count=default_of(config.node_count),
            process_count_per_node=default_of(config.process_count_per_node),
            error_threshold=config.error_threshold, allowed_failed_count=config.allowed_failed_count,
            allowed_failed_percent=config.allowed_failed_percent,
            run_invocation_timeout=default_of(config.run_invocation_timeout),
            run_max_try=default_of(config.run_max_try), output_action=config.output_action.lower(),
            append_row_file_name=(config.append_row_file_name or DEFAULT_APPEND_ROW_FILE_NAME) if append_row else None,
            logging_level=default_of(config.logging_level), environment=config.environment.name,
            environment_version=config.environment.version, environment_variables=runconfig_env(config),
            arguments=[asdict(a) for a in arguments],
            parameters={field: p.name for field, p in config.parameters().items()},
            rank_mini_batch_count=self.rank_mini_batch_count)

    def _plan_spec(self, context: Any) -> dict[str, Any]:
        config = self.parallel_run_config
        source = self._source_directory(context.default_source_directory)
        arguments = [context.argument(self, arg) for arg in self._arguments]
        settings = self._settings(source, arguments)
        return {
            "script": config.entry_script,
            "source_directory": source,
            "arguments": arguments,
            "params": {key: context.param(value) for key, value in self.params.items()},
            "compute_target": self.compute_target,
            "environment_variables": settings.environment_variables,
            "runconfig": {"framework": "Python", "node_count": settings.node_count,
                          "environment": config.environment._to_dict()},
            "runconfig_parameters": {k: p.name for k, p in self.runconfig_pipeline_params.items()},
            "extra": settings.to_extra(),
        }


__all__ = ["ALLOWED_INPUTS", "ParallelRunStep", "RESERVED_ARGUMENTS", "check_arguments", "input_kind",
           "rank_mini_batch_count", "set_input_modes"]
