"""v2 `parallel_run_function` / `RunFunction` / `RetrySettings`: checklist item 80 and the §4.7 mapping."""

from __future__ import annotations

import pytest

from aml_bridge.parallel import (
    Input,
    JobResourceConfiguration,
    Output,
    ParallelComponent,
    ParallelRunStep,
    ParallelTask,
    RetrySettings,
    RunFunction,
    ValidationException,
    parallel_run_function,
)
from aml_bridge.pipeline import Pipeline, PipelineData


def _node(**kwargs):
    values = dict(name="batch_score", inputs={"data": Input(type="uri_folder")}, input_data="${{inputs.data}}",
                  task=RunFunction(code=".", entry_script="score.py"))
    values.update(kwargs)
    return parallel_run_function(**values)


# --- item 80 -------------------------------------------------------------------------------------------------


def test_item_80_mini_batch_size_is_converted_client_side() -> None:
    assert _node(mini_batch_size="5kb").mini_batch_size == 5120
    assert _node(mini_batch_size="10MB").component.mini_batch_size == 10485760
    assert _node().mini_batch_size == 0  # unset, as the SDK's component stores it
    with pytest.raises(ValueError, match=r"mini_batch_size must follow regex rule"):
        _node(mini_batch_size="5tb")


def test_item_80_instance_count_and_resources_are_mutually_exclusive() -> None:
    with pytest.raises(ValidationException, match="instance_count and resources are mutually exclusive"):
        ParallelComponent(instance_count=2, resources=JobResourceConfiguration(instance_count=1))
    assert ParallelComponent(instance_count=2).instance_count == 2
    assert ParallelComponent(resources={"instance_count": 3}).instance_count == 3
    assert issubclass(ValidationException, ValueError)


def test_item_80_unset_append_row_to_means_summary_only(src) -> None:
    extra = _node()._plan_extra()
    assert (extra["output_action"], extra["output"], extra["append_row_file_name"]) == ("summary_only", None, None)
    appended = _node(outputs={"scores": Output(type="uri_file")},
                     task=RunFunction(entry_script="score.py", append_row_to="${{outputs.scores}}"))._plan_extra()
    assert (appended["output_action"], appended["output"], appended["append_row_file_name"]) == (
        "append_row", "scores", "parallel_run_step.txt")


def test_item_80_retry_settings_are_passed_through_unchanged(src) -> None:
    settings = RetrySettings(timeout=60, max_retries=2)
    node = _node(retry_settings=settings)
    assert node.retry_settings is settings and node.component.retry_settings is settings
    assert (settings.timeout, settings.max_retries) == (60, 2)
    as_dict = _node(retry_settings={"timeout": 60, "max_retries": 2})
    assert as_dict.retry_settings == settings
    extra = node._plan_extra()
    assert extra["retry_settings"] == {"timeout": 60, "max_retries": 2}
    assert (extra["run_invocation_timeout"], extra["run_max_try"]) == (60, 3)  # 2 retries after the first try


# --- mapping onto the plan model ---------------------------------------------------------------------------------


def test_v2_node_maps_onto_the_v1_plan_schema(src, files, make_config, ws) -> None:
    node = parallel_run_function(
        name="batch_score", inputs={"rows": Input(type="mltable", mode="direct"), "model": Input(type="uri_folder"),
                                    "threshold": Input(type="number", default=0.5), "top": 3},
        outputs={"scores": Output(type="uri_file"), "report": Output()}, input_data="${{inputs.rows}}",
        mini_batch_size="64kb", instance_count=2, max_concurrency_per_instance=4, error_threshold=5,
        mini_batch_error_threshold=1, logging_level="debug", environment_variables={"MODE": 1},
        retry_settings=RetrySettings(timeout=30, max_retries=0),
        task=RunFunction(code=".", entry_script="score.py", environment="azureml:scoring-env:7",
                         append_row_to="${{outputs.scores}}",
                         program_arguments="--model ${{inputs.model}} --threshold ${{inputs.threshold}} --top "
                                           "${{inputs.top}} --report ${{outputs.report}} --allowed_failed_percent=25 "
                                           "--task_overhead_timeout 1200"))
    extra = node._plan_extra()
    v1 = ParallelRunStep("s", make_config(), [files.as_named_input("i")], PipelineData("o"))
    assert set(extra) == set(Pipeline(ws, [v1]).plan().steps[0].extra)  # one schema for both APIs
    assert {k: extra[k] for k in ("api", "entry_script", "source_directory", "input_kind", "inputs", "side_inputs",
                                  "output", "mini_batch_size", "mini_batch_unit", "node_count",
                                  "process_count_per_node", "error_threshold", "allowed_failed_count",
                                  "allowed_failed_percent", "run_invocation_timeout", "run_max_try",
                                  "logging_level", "environment", "environment_version",
                                  "environment_variables")} == {
        "api": "v2", "entry_script": "score.py", "source_directory": str(src), "input_kind": "tabular",
        "inputs": ["rows"], "side_inputs": ["model"], "output": "scores", "mini_batch_size": 65536,
        "mini_batch_unit": "bytes", "node_count": 2, "process_count_per_node": 4, "error_threshold": 5,
        "allowed_failed_count": 1, "allowed_failed_percent": 25, "run_invocation_timeout": 30, "run_max_try": 1,
        "logging_level": "DEBUG", "environment": "scoring-env", "environment_version": "7",
        "environment_variables": {"MODE": "1"}}
    assert extra["arguments"] == [
        {"kind": "literal", "value": "--model"}, {"kind": "port", "value": "model"},
        {"kind": "literal", "value": "--threshold"}, {"kind": "literal", "value": "0.5"},
        {"kind": "literal", "value": "--top"}, {"kind": "literal", "value": "3"},
        {"kind": "literal", "value": "--report"}, {"kind": "port", "value": "report"},
        {"kind": "literal", "value": "--task_overhead_timeout"}, {"kind": "literal", "value": "1200"}]


def test_v2_defaults(src) -> None:
    extra = _node()._plan_extra()
    assert {k: extra[k] for k in ("input_kind", "mini_batch_size", "node_count", "process_count_per_node",
                                  "error_threshold", "allowed_failed_count", "allowed_failed_percent",
                                  "run_invocation_timeout", "run_max_try", "logging_level", "environment")} == {
        "input_kind": "file", "mini_batch_size": 10, "node_count": 1, "process_count_per_node": None,
        "error_threshold": -1, "allowed_failed_count": None, "allowed_failed_percent": None,
        "run_invocation_timeout": 60, "run_max_try": 3, "logging_level": "INFO", "environment": None}
    tabular = _node(inputs={"t": Input(type="mltable")}, input_data="${{inputs.t}}")._plan_extra()
    assert (tabular["input_kind"], tabular["mini_batch_size"]) == ("tabular", 1048576)
    mounted = _node(inputs={"t": Input(type="mltable", mode="ro_mount")}, input_data="${{inputs.t}}")._plan_extra()
    assert mounted["input_kind"] == "file"


def test_partition_keys_win_over_mini_batch_size_in_v2(src) -> None:
    extra = _node(mini_batch_size="1mb", partition_keys=["region"])._plan_extra()
    assert (extra["partition_keys"], extra["mini_batch_size"]) == (["region"], None)


def test_error_threshold_from_program_arguments(src) -> None:
    lifted = _node(task=RunFunction(entry_script="s.py", program_arguments="--error_threshold 4"))._plan_extra()
    assert (lifted["error_threshold"], lifted["arguments"]) == (4, [])
    with pytest.raises(ValueError, match=r"error_threshold=5 and program_arguments --error_threshold 4 disagree"):
        _node(error_threshold=5, task=RunFunction(entry_script="s.py",
                                                   program_arguments="--error_threshold 4"))._plan_extra()


INVALID_NODES = [
    ({"task": None}, r"task must be a RunFunction"),
    ({"task": ParallelTask(type="function", entry_script="s.py")}, r"task must be a RunFunction"),
    ({"task": RunFunction(code=".")}, r"with an entry_script"),
    ({"input_data": "data"}, r"input_data must be '\$\{\{inputs.<name>\}\}', got 'data'"),
    ({"input_data": "${{inputs.nope}}"}, r"input_data refers to inputs.nope, which is not a data input"),
    ({"task": RunFunction(entry_script="s.py", append_row_to="${{outputs.nope}}")},
     r"append_row_to refers to outputs.nope"),
    ({"task": RunFunction(entry_script="s.py", program_arguments="--x=${{inputs.data}}")}, r"embeds a binding"),
    ({"task": RunFunction(entry_script="s.py", program_arguments="--x ${{inputs.other}}")},
     r"refers to inputs.other, which is not defined"),
    ({"task": RunFunction(entry_script="s.py", program_arguments="--allowed_failed_percent")}, r"has no value"),
    ({"task": RunFunction(entry_script="s.py", program_arguments="--allowed_failed_percent=lots")},
     r"--allowed_failed_percent needs a number"),
    ({"task": RunFunction(entry_script="s.py", program_arguments="--allowed_failed_percent 120")},
     r"allowed_failed_percent '120' is not between 0 and 100"),
    ({"error_threshold": -2}, r"error_threshold '-2' is not an int value greater than or equal to -1"),
    ({"mini_batch_error_threshold": -3}, r"mini_batch_error_threshold '-3' is not an int"),
    ({"max_concurrency_per_instance": 0}, r"max_concurrency_per_instance must be an integer greater than 0"),
    ({"instance_count": 0}, r"instance_count must be an integer greater than 0"),
    ({"logging_level": "TRACE"}, r"logging_level must be one of DEBUG, INFO, WARNING"),
    ({"retry_settings": RetrySettings(timeout=0)}, r"retry_settings.timeout must be an int > 0"),
    ({"retry_settings": RetrySettings(max_retries=-1)}, r"retry_settings.max_retries must be an int >= 0"),
    ({"retry_settings": RetrySettings(timeout="${{parent.inputs.t}}")}, r"only a number can be planned"),
]


@pytest.mark.parametrize(("kwargs", "message"), INVALID_NODES,
                         ids=[f"{i}-{'+'.join(k)}" for i, (k, _) in enumerate(INVALID_NODES)])
def test_invalid_v2_nodes_fail_when_mapped_naming_the_field(src, kwargs, message) -> None:
    node = _node(**kwargs)  # the SDK accepts these at construction; the plan does not
    with pytest.raises(ValueError, match=message):
        node._plan_extra()


def test_set_resources_does_not_change_the_component() -> None:
    component = ParallelComponent(instance_count=1)
    node = parallel_run_function(component=component, instance_count=4)
    assert (node.instance_count, component.instance_count) == (4, 1)
    as_dict = parallel_run_function(component=ParallelComponent(resources={"instance_count": 1}), instance_count=2)
    assert as_dict.instance_count == 2
