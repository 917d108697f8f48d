"""A v2 `Parallel` node as a step of a v1 `Pipeline`: bindings to v1 data objects, the plan, and the
DAG-build-time errors naming the node and field."""

from __future__ import annotations

import pytest

from aml_bridge.data import OutputFileDatasetConfig
from aml_bridge.parallel import (
    Input,
    Output,
    ParallelRunStep,
    ParallelTask,
    RetrySettings,
    RunFunction,
    parallel_run_function,
)
from aml_bridge.parallel.scripts import MODEL_SCORING_SCRIPT, builtin_scripts_dir
from aml_bridge.pipeline import Pipeline, PipelineData, PythonScriptStep
from aml_bridge.pipeline.errors import PipelineDefinitionError


def _score(model: str = "azureml:wine:latest", **kwargs):
    values = dict(name="batch-score", inputs={"rows": Input(type="mltable"), "top": Input(type="integer", default=3)},
                  outputs={"scores": Output(type="uri_folder")}, input_data="${{inputs.rows}}",
                  instance_count=2, max_concurrency_per_instance=2, mini_batch_size="1kb",
                  retry_settings=RetrySettings(timeout=120, max_retries=1), compute="cpu-cluster",
                  task=ParallelTask(type="model", model=model, append_row_to="${{outputs.scores}}"))
    values.update(kwargs)
    return parallel_run_function(**values)


def _producer(src):
    """prep.py writes `holdout` (promoted to a dataset) and registers the model."""
    holdout = PipelineData("holdout").as_dataset()
    prep = PythonScriptStep("prep.py", name="train", source_directory=str(src), outputs=[holdout],
                            arguments=["--out", holdout])
    return prep, holdout


def test_bound_model_node_plans_like_a_parallel_run_step(ws, src) -> None:
    prep, holdout = _producer(src)
    node = _score()(rows=holdout.parse_delimited_files().as_named_input("holdout"), top=5)
    node.outputs["scores"] = PipelineData("scored")
    node.run_after(prep)
    plan = Pipeline(ws, [prep, node]).plan()

    step = plan.step("batch-score")
    assert step.kind == "parallel_run" and step.upstream == ["train"]
    assert [(i.name, i.producer, i.output, i.dataset_type) for i in step.inputs] == [
        ("holdout", "train", "holdout", "tabular")]
    assert [o.name for o in step.outputs] == ["scored"]
    extra = step.extra
    assert (extra["api"], extra["entry_script"], extra["source_directory"]) == ("v2", MODEL_SCORING_SCRIPT,
                                                                                 builtin_scripts_dir())
    assert extra["model"] == "models:/wine/latest"  # a URI: resolved when the step runs, not here
    assert (extra["inputs"], extra["output"], extra["input_kind"]) == (["holdout"], "scored", "tabular")
    assert (extra["node_count"], extra["process_count_per_node"], extra["mini_batch_size"]) == (2, 2, 1024)
    assert (extra["run_invocation_timeout"], extra["run_max_try"]) == (120, 2)
    assert step.compute_target == "cpu-cluster" and step.script == MODEL_SCORING_SCRIPT
    assert step.allow_reuse is False  # `latest` may name another model next time


def test_a_pinned_model_keeps_reuse_and_the_unbound_node_is_unchanged(ws, src, table) -> None:
    template = _score("azureml:wine:3")
    node = template(rows=table)  # a Dataset: consumed as inputs.rows, in direct mode
    plan = Pipeline(ws, [node]).plan()
    step = plan.step("batch-score")
    assert step.allow_reuse is True
    assert [(i.name, i.mode, i.dataset_type) for i in step.inputs] == [("rows", "direct", "tabular")]
    assert [o.name for o in step.outputs] == ["scores"]  # an unbound output: a PipelineData of its name
    assert not isinstance(template.inputs["rows"], type(node.inputs["rows"]))
    assert Pipeline(ws, [node, node]).plan().steps == plan.steps  # one step per node


def test_run_function_node_ports_and_arguments(ws, src, files) -> None:
    prep, _ = _producer(src)
    model = PipelineData("model")
    node = parallel_run_function(
        name="score-files", inputs={"images": Input(type="uri_folder"), "model": Input(type="uri_folder")},
        outputs={"out": Output()}, input_data="${{inputs.images}}",
        task=RunFunction(code=str(src), entry_script="score.py", append_row_to="${{outputs.out}}",
                         program_arguments="--model ${{inputs.model}} --out ${{outputs.out}}"))(
        images=files.as_named_input("imgs"), model=Input(type="uri_folder", path=model))
    out = OutputFileDatasetConfig()
    node.outputs["out"] = Output(path=out)
    PythonScriptStep("prep.py", name="make-model", source_directory=str(src), outputs=[model], arguments=[model])
    step = Pipeline(ws, [prep, node]).plan().step("score-files")
    assert [(i.name, i.mode) for i in step.inputs] == [("imgs", "mount"), ("model", "mount")]
    out_name = step.outputs[0].name
    assert step.extra["output"] == out_name and step.extra["side_inputs"] == ["model"]
    assert [(a.kind, a.value) for a in step.arguments] == [("literal", "--model"), ("port", "model"),
                                                           ("literal", "--out"), ("port", out_name)]
    assert step.extra["arguments"] == [{"kind": a.kind, "value": a.value} for a in step.arguments]
    assert step.upstream == ["make-model"]


@pytest.mark.parametrize(("bind", "message"), [
    (lambda node, table, files: node(), r"Parallel \[batch-score\]: inputs.rows is not bound to data"),
    (lambda node, table, files: node(rows="/data/rows.csv"), r"inputs.rows is not bound to data"),
    (lambda node, table, files: node(rowz=table), r"Parallel \[batch-score\]: no input named rowz; inputs: "),
    (lambda node, table, files: node(rows=files), r"inputs.rows is declared Input\(type='mltable'.*bound to "
                                                  r"DatasetConsumptionConfig, a file dataset"),
    (lambda node, table, files: node(rows=PipelineData("p")), r"inputs.rows: .*promote it with .as_dataset"),
    (lambda node, table, files: node(rows=Input(type="mltable", path=None)), r"inputs.rows is not bound to data"),
])
def test_invalid_bindings_fail_when_the_pipeline_is_built(ws, src, table, files, bind, message) -> None:
    with pytest.raises(PipelineDefinitionError, match=message):
        Pipeline(ws, [bind(_score(), table, files)])


def test_invalid_outputs_and_fields_fail_when_the_pipeline_is_built(ws, src, table) -> None:
    node = _score()(rows=table)
    node.outputs["scores"] = "s3://bucket/scores"
    with pytest.raises(PipelineDefinitionError, match=r"Parallel \[batch-score\]: outputs.scores must be bound to "
                                                      r"a PipelineData or an OutputFileDatasetConfig"):
        Pipeline(ws, [node])
    bad = _score(retry_settings=RetrySettings(timeout=0))(rows=table)
    with pytest.raises(PipelineDefinitionError, match=r"Parallel \[batch-score\]: retry_settings.timeout"):
        Pipeline(ws, [bad])
    with pytest.raises(PipelineDefinitionError, match=r"Parallel \[batch-score\]: task.model"):
        Pipeline(ws, [_score("wine")(rows=table)])


def test_the_node_and_a_parallel_run_step_plan_the_same_driver_fields(ws, src, table, make_config) -> None:
    node = _score(max_concurrency_per_instance=2, retry_settings=None)(rows=table.as_named_input("rows"))
    v1 = ParallelRunStep("batch-score", make_config(mini_batch_size="1kb", process_count_per_node=2,
                                                    error_threshold=-1, output_action="append_row"),
                         inputs=[table.as_named_input("rows")], output=PipelineData("scores"))
    v2_extra, v1_extra = (Pipeline(ws, [s]).plan().steps[0].extra for s in (node, v1))
    same = ("input_kind", "inputs", "output", "mini_batch_size", "node_count", "process_count_per_node",
            "error_threshold", "output_action", "append_row_file_name", "run_invocation_timeout")
    assert {k: v2_extra[k] for k in same} == {k: v1_extra[k] for k in same}


def test_an_optional_side_input_may_stay_unbound_and_binding_copies_the_node(ws, src, table) -> None:
    template = _score(inputs={"rows": Input(type="mltable"), "lookup": Input(type="uri_folder", optional=True)})
    node = template(rows=table)
    node.set_resources(instance_count=3)
    step = Pipeline(ws, [node]).plan().step("batch-score")
    assert [i.name for i in step.inputs] == ["rows"] and step.extra["side_inputs"] == []
    assert step.extra["node_count"] == 3 and template.instance_count == 2  # the template kept its resources
    uses = _score(inputs={"rows": Input(type="mltable"), "lookup": Input(type="uri_folder", optional=True)},
                  task=RunFunction(code=str(src), entry_script="score.py", append_row_to="${{outputs.scores}}",
                                   program_arguments="--lookup ${{inputs.lookup}}"))(rows=table)
    with pytest.raises(PipelineDefinitionError, match=r"Parallel \[batch-score\]: program_arguments refers to "
                                                      r"inputs.lookup, an optional input left unbound"):
        Pipeline(ws, [uses])
