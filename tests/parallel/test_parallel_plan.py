"""A ParallelRunStep in a pipeline plan: edges, ports, the `extra` schema, JSON, and the DAG-build gap."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aml_bridge.data import OutputFileDatasetConfig
from aml_bridge.parallel import ParallelRunStep, ParallelSettings
from aml_bridge.pipeline import Pipeline, PipelineData, PipelineParameter, PipelinePlan, PythonScriptStep
from aml_bridge.pipeline.resolve import resolve_arguments, step_environment

HEAVY = ("pandas", "mlflow", "airflow", "boto3", "pyarrow", "numpy")


def _pipeline(ws, src, files, make_config, **config_args):
    """prep.py writes `prepared` (promoted to a dataset) and `model`; score-step maps over images + prepared."""
    prepared, model = PipelineData("prepared").as_dataset(), PipelineData("model")
    PythonScriptStep("prep.py", source_directory=str(src), outputs=[prepared, model],
                     arguments=["--out", prepared, "--model", model])
    values = dict(mini_batch_size=PipelineParameter("mbs", 5), process_count_per_node=2, allowed_failed_count=2,
                  allowed_failed_percent=10, logging_level="DEBUG", run_invocation_timeout=30, run_max_try=4,
                  environment_variables={"MODE": "batch"})
    values.update(config_args)
    step = ParallelRunStep("score-step", make_config(**values),
                           inputs=[files.as_named_input("images"), prepared.as_named_input("prepared_in")],
                           output=OutputFileDatasetConfig("scores"), side_inputs=[model],
                           arguments=["--model", model, "--threshold", PipelineParameter("threshold", 0.5)])
    return Pipeline(ws, [step])


EXPECTED_EXTRA = {
    "api": "v1", "entry_script": "score.py", "input_kind": "file", "inputs": ["images", "prepared_in"],
    "side_inputs": ["model"], "output": "scores", "mini_batch_size": 5, "mini_batch_unit": "items",
    "partition_keys": None, "node_count": 2, "process_count_per_node": 2, "error_threshold": 10,
    "allowed_failed_count": 2, "allowed_failed_percent": 10, "run_invocation_timeout": 30, "run_max_try": 4,
    "output_action": "append_row", "append_row_file_name": "parallel_run_step.txt", "logging_level": "DEBUG",
    "environment": "batch", "environment_version": None,
    "environment_variables": {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE", "MODE": "batch"},
    "arguments": [{"kind": "literal", "value": "--model"}, {"kind": "port", "value": "model"},
                  {"kind": "literal", "value": "--threshold"}, {"kind": "parameter", "value": "threshold"}],
    "parameters": {"mini_batch_size": "mbs"}, "rank_mini_batch_count": 0, "retry_settings": None, "model": None,
}


def test_parallel_step_plans_edges_ports_and_extra(ws, src, files, make_config) -> None:
    plan = _pipeline(ws, src, files, make_config).plan()
    assert [(s.task_id, s.kind) for s in plan.steps] == [("prep.py", "python_script"), ("score-step", "parallel_run")]
    assert plan.parameters == {"mbs": 5, "threshold": 0.5}
    score = plan.step("score-step")
    assert score.upstream == ["prep.py"]
    assert [(i.name, i.kind, i.mode, i.producer, i.output, i.dataset_type) for i in score.inputs] == [
        ("images", "dataset", "mount", None, None, "file"),
        ("prepared_in", "dataset", "mount", "prep.py", "prepared", "file"),
        ("model", "pipeline_data", "mount", "prep.py", "model", None)]
    assert score.input("images").source["type"] == "dataset"
    assert [(o.name, o.kind, o.path_template) for o in score.outputs] == [
        ("scores", "dataset", "dataset/{run-id}/{output-name}")]
    assert score.extra == {**EXPECTED_EXTRA, "source_directory": str(src)}
    assert (score.script, score.source_directory, score.compute_target) == ("score.py", str(src), "cpu-cluster")
    assert [(a.kind, a.value) for a in score.arguments] == [(a["kind"], a["value"]) for a in score.extra["arguments"]]
    assert {k: (p.kind, p.value) for k, p in score.params.items()} == {
        "mbs": ("parameter", "mbs"), "threshold": ("parameter", "threshold")}
    assert score.runconfig["environment"]["name"] == "batch" and len(score.module_hash) == 64


def test_plan_json_round_trip_and_settings_round_trip(ws, src, files, make_config) -> None:
    plan = _pipeline(ws, src, files, make_config).plan()
    text = plan.to_json()
    again = PipelinePlan.from_json(text)
    assert again == plan and again.to_json() == text
    extra = again.step("score-step").extra
    assert json.loads(json.dumps(extra)) == extra
    assert ParallelSettings.from_extra(extra).to_extra() == extra
    assert _pipeline(ws, src, files, make_config).plan() == plan  # every parse plans the same


def test_generic_resolution_works_on_a_parallel_step(ws, src, files, make_config) -> None:
    plan = _pipeline(ws, src, files, make_config).plan()
    score = plan.step("score-step")
    ports = {"images": "/in/images", "prepared_in": "/in/prep", "model": "/in/model", "scores": "/out/scores"}
    values = plan.parameter_values({"mbs": 7})
    assert resolve_arguments(score, ports, values) == ["--model", "/in/model", "--threshold", "0.5"]
    env = step_environment(score, ports, values)
    assert (env["AML_PARAMETER_mbs"], env["MODE"], env["AZUREML_DATAREFERENCE_model"]) == ("7", "batch", "/in/model")


def test_node_count_parameter_is_a_runconfig_parameter(ws, src, files, make_config) -> None:
    plan = _pipeline(ws, src, files, make_config, node_count=PipelineParameter("nodes", 3)).plan()
    score = plan.step("score-step")
    assert score.runconfig_parameters == {"NodeCount": "nodes"} and "nodes" not in score.params
    assert (score.extra["node_count"], score.extra["parameters"]) == (3, {"mini_batch_size": "mbs",
                                                                          "node_count": "nodes"})
    assert plan.parameters["nodes"] == 3


def test_driver_settings_are_part_of_the_module_hash(ws, src, files, make_config) -> None:
    first = _pipeline(ws, src, files, make_config).plan().step("score-step").module_hash
    assert _pipeline(ws, src, files, make_config).plan().step("score-step").module_hash == first
    changed = _pipeline(ws, src, files, make_config, error_threshold=11).plan().step("score-step").module_hash
    assert changed != first


def test_tabular_plan_counts_bytes(ws, src, table, make_config) -> None:
    step = ParallelRunStep("rows-step", make_config(output_action="summary_only"), [table.as_named_input("rows")])
    plan = Pipeline(ws, [step]).plan().steps[0]
    assert (plan.inputs[0].mode, plan.extra["input_kind"], plan.extra["mini_batch_size"],
            plan.extra["mini_batch_unit"]) == ("direct", "tabular", 1048576, "bytes")
    assert (plan.extra["output"], plan.extra["output_action"], plan.outputs) == (None, "summary_only", [])


def test_dag_maps_nodes_between_prepare_and_gather(ws, src, files, make_config) -> None:
    """Airflow maps over nodes (never mini-batches); the gather task carries the step's task id."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from airflow_provider.dag_builder import pipeline_dag

    dag = pipeline_dag(_pipeline(ws, src, files, make_config), "parallel_dag")
    ids = set(dag.task_dict)
    assert {"score-step__prepare", "score-step__nodes", "score-step"} <= ids
    nodes = dag.get_task("score-step__nodes")
    assert isinstance(nodes, MappedOperator) and nodes.partial_kwargs["retries"] >= 1
    assert dag.get_task("score-step__prepare").upstream_task_ids == {"prep.py"}
    assert nodes.upstream_task_ids == {"score-step__prepare"}
    assert dag.get_task("score-step").upstream_task_ids == {"score-step__nodes"}
    assert dag.get_task("score-step").trigger_rule == "all_done"
    assert "score-step" in dag.get_task("aml_pipeline_end").upstream_task_ids


def test_building_a_parallel_plan_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.txt").write_text("a")
    for name in ("score.py", "prep.py"):
        (tmp_path / name).write_text("")
    code = textwrap.dedent(f"""
        import sys
        from types import SimpleNamespace
        from aml_bridge import settings
        from aml_bridge.data import Dataset
        from aml_bridge.parallel import (Input, ParallelRunConfig, ParallelRunStep, RunFunction,
                                         parallel_run_function)
        from aml_bridge.pipeline import Pipeline, PipelineData, PythonScriptStep
        from aml_bridge.train import Environment
        ws = SimpleNamespace(config=settings.resolve(home={str(tmp_path / 'home')!r}))
        prepared = PipelineData("prepared").as_dataset()
        PythonScriptStep("prep.py", outputs=[prepared], arguments=["--out", prepared])
        config = ParallelRunConfig(Environment("e"), "score.py", -1, "append_row", "cpu", 2, mini_batch_size="1kb")
        images = Dataset.File.from_files(path={str(tmp_path / 'images')!r}).as_named_input("images")
        step = ParallelRunStep("score", config, [images, prepared.as_named_input("p")], PipelineData("out"))
        Pipeline(ws, [step]).plan().to_json()
        parallel_run_function(inputs={{"d": Input(type="mltable")}}, input_data="${{{{inputs.d}}}}",
                              task=RunFunction(entry_script="score.py"))._plan_extra()
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_submitted_parameter_values_are_checked_like_literals(ws, src, files, make_config) -> None:
    plan = _pipeline(ws, src, files, make_config, node_count=PipelineParameter("nodes", 1)).plan()
    settings = ParallelSettings.from_extra(plan.step("score-step").extra)
    resolved = settings.with_parameters({"mbs": "7", "nodes": 3})
    assert (resolved.mini_batch_size, resolved.node_count) == (7, 3)
    assert settings.with_parameters({}).mini_batch_size == 5  # the default stays
    with pytest.raises(ValueError, match="node_count must be an integer greater than 0"):
        settings.with_parameters({"nodes": 0})
    with pytest.raises(ValueError, match="mini_batch_size must follow regex rule"):
        settings.with_parameters({"mbs": "ten"})
