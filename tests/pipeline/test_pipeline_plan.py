"""The pure-data plan: model, JSON round trip, determinism, task ids, and the invalid-definition matrix."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aml_bridge.data import (
    DataPath,
    DataPathComputeBinding,
    DataReference,
    Dataset,
    OutputFileDatasetConfig,
)
from aml_bridge.pipeline import (
    Pipeline,
    PipelineData,
    PipelineDefinitionError,
    PipelineParameter,
    PipelinePlan,
    PythonScriptStep,
)
from aml_bridge.pipeline.naming import task_ids


def _three_step_pipeline(ws, src):
    prepared = PipelineData("prepared")
    model = OutputFileDatasetConfig("model").register_on_complete("my-model", tags={"k": "v"})
    lr = PipelineParameter("lr", 0.01)
    PythonScriptStep("prep.py", arguments=["--out", prepared], outputs=[prepared], compute_target="cpu")
    PythonScriptStep("train.py", arguments=["--in", prepared.as_download(), "--lr", lr, "--out", model],
                     inputs=[prepared.as_download()], allow_reuse=False, version="2")
    evaluate = PythonScriptStep("eval.py", arguments=["--model", model.as_input("model_in")])
    return Pipeline(ws, [evaluate], description="demo")


def test_plan_data_model(ws, src) -> None:
    plan = _three_step_pipeline(ws, src).plan()
    assert [s.task_id for s in plan.steps] == ["prep.py", "train.py", "eval.py"]
    assert plan.parameters == {"lr": 0.01} and plan.parameter_kinds == {"lr": "float"}
    assert (plan.default_datastore, plan.description) == ("workspaceblobstore", "demo")
    prep, train, evaluate = plan.steps
    assert (prep.kind, prep.script, prep.source_directory, prep.compute_target) == (
        "python_script", "prep.py", str(src), "cpu")
    assert prep.outputs[0].path_template == "azureml/{run-id}/{output-name}"
    assert (prep.outputs[0].datastore, prep.outputs[0].mode, prep.outputs[0].kind) == (
        "workspaceblobstore", "mount", "pipeline_data")
    inp = train.inputs[0]
    assert (inp.name, inp.kind, inp.mode, inp.producer, inp.output) == (
        "prepared", "pipeline_data", "download", "prep.py", "prepared")
    assert (train.allow_reuse, train.version, train.upstream) == (False, "2", ["prep.py"])
    assert train.params["lr"].kind == "parameter" and train.params["lr"].value == "lr"
    model = train.output("model")
    assert (model.kind, model.path_template, model.dataset) == ("dataset", "dataset/{run-id}/{output-name}",
                                                                {"type": "file"})
    assert model.register == {"name": "my-model", "description": None, "tags": {"k": "v"}}
    assert [(a.kind, a.value) for a in train.arguments] == [
        ("literal", "--in"), ("port", "prepared"), ("literal", "--lr"), ("parameter", "lr"),
        ("literal", "--out"), ("port", "model")]
    model_in = evaluate.input("model_in")
    assert (model_in.kind, model_in.mode, model_in.producer, model_in.output, model_in.dataset_type) == (
        "dataset", "mount", "train.py", "model", "file")
    assert all(len(s.module_hash) == 64 for s in plan.steps)


def test_json_round_trip(ws, src) -> None:
    plan = _three_step_pipeline(ws, src).plan()
    text = plan.to_json()
    assert json.loads(text)["format"] == 1
    again = PipelinePlan.from_json(text)
    assert again == plan and again.to_json() == text


_DAG_FILE = textwrap.dedent("""
    import sys
    from types import SimpleNamespace
    from aml_bridge import settings
    from aml_bridge.data import Datastore, OutputFileDatasetConfig, DataReference, Dataset
    from aml_bridge.pipeline import Pipeline, PipelineData, PythonScriptStep
    ws = SimpleNamespace(config=settings.resolve(home=sys.argv[1]))
    raw = DataReference(Datastore(ws), path_on_datastore="raw/x")
    out = OutputFileDatasetConfig()
    a = PythonScriptStep("prep.py", arguments=[raw, out], inputs=[raw])
    b = PythonScriptStep("train.py", arguments=[out.as_input()])
    print(Pipeline(ws, [b]).plan().to_json())
""")


def test_every_parse_builds_the_same_plan(src, tmp_path) -> None:
    """Airflow parses a DAG file in many processes: generated names must not differ between them."""
    script = tmp_path / "dag.py"
    script.write_text(_DAG_FILE)
    runs = [subprocess.run([sys.executable, str(script), str(tmp_path / "home")], cwd=src, text=True,
                           capture_output=True, check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    plan = PipelinePlan.from_json(runs[0])
    generated = plan.steps[0].outputs[0].name
    assert generated.startswith("output_") and len(generated) == len("output_") + 8
    assert plan.steps[1].inputs[0].output == generated


def test_task_ids_are_airflow_safe_and_unique(ws, src) -> None:
    steps = [PythonScriptStep("train.py", name=n) for n in ["train.py", "train.py", "my step/1", "ü"]]
    plan = Pipeline(ws, steps).plan(reserved_task_ids=["_"])
    assert [s.task_id for s in plan.steps] == ["train.py", "train.py_2", "my_step_1", "__2"]
    assert [s.name for s in plan.steps] == ["train.py", "train.py", "my step/1", "ü"]
    long = task_ids(["x" * 300, "x" * 300])
    assert [len(t) for t in long] == [250, 250] and long[0] != long[1]


def test_default_datastore_comes_from_argument_or_workspace_config(ws, src, tmp_path) -> None:
    from types import SimpleNamespace

    from aml_bridge import settings

    data = PipelineData("p1")
    step = PythonScriptStep("prep.py", outputs=[data])
    assert Pipeline(ws, [step], default_datastore="other").plan().steps[0].outputs[0].datastore == "other"
    configured = SimpleNamespace(config=settings.resolve({"default_datastore": "lake"}, home=str(tmp_path / "h")))
    plan = Pipeline(configured, [step]).plan()
    assert plan.default_datastore == "lake" and plan.steps[0].outputs[0].datastore == "lake"
    explicit = PipelineData("p2", datastore="mine")
    assert Pipeline(ws, [PythonScriptStep("prep.py", outputs=[explicit])]).plan().steps[0].outputs[0].datastore == "mine"


def test_external_sources_are_described(ws, src, tmp_path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    dataset = Dataset.File.from_files(str(tmp_path / "d.csv"))
    path_param = PipelineParameter("input_path", DataPath("workspaceblobstore", "raw/2024"))
    ref = DataReference("workspaceblobstore", "ref", "raw/ref").as_download("local_ref")
    step = PythonScriptStep("train.py", arguments=[(path_param, DataPathComputeBinding(mode="download"))],
                            inputs=[dataset.as_named_input("ds"), ref])
    plan = Pipeline(ws, [step]).plan()
    by_name = {i.name: i for i in plan.steps[0].inputs}
    assert by_name["ds"].source == {"type": "dataset", "id": dataset.id, "dataset": dataset.to_dict()}
    assert (by_name["ds"].mode, by_name["ds"].kind) == ("direct", "dataset")
    assert by_name["ref"].source == {"type": "datastore", "datastore": "workspaceblobstore", "path": "raw/ref"}
    assert (by_name["ref"].mode, by_name["ref"].path_on_compute) == ("download", "local_ref")
    assert by_name["input_path"].source == {"type": "parameter", "name": "input_path"}
    assert plan.parameters == {"input_path": {"datastore": "workspaceblobstore", "path": "raw/2024"}}
    assert plan.parameter_kinds == {"input_path": "datapath"}


def test_build_plan_overrides_defaults(ws, src) -> None:
    step = PythonScriptStep("train.py", arguments=[PipelineParameter("lr", 0.01)])
    assert Pipeline(ws, [step]).plan({"lr": 0.5}).parameters == {"lr": 0.5}


def test_kind_specific_fields_come_from_the_step_class(ws, src) -> None:
    from aml_bridge.pipeline import PipelineStep

    class EchoStep(PipelineStep):
        kind = "echo"

        def __init__(self, text: str) -> None:
            super().__init__("echo", [], [])
            self.text = text

        def _plan_spec(self, context):
            return {"extra": {"text": self.text}}

    plan = Pipeline(ws, [EchoStep("hi")]).plan()
    assert (plan.steps[0].kind, plan.steps[0].extra, plan.steps[0].script) == ("echo", {"text": "hi"}, None)


# --- invalid definitions: each fails when the plan (the DAG) is built, naming step and field ---------


def _no_producer(ws):
    return Pipeline(ws, [PythonScriptStep("train.py", name="train", inputs=[PipelineData("orphan")])])


def _two_producers(ws):
    data = PipelineData("shared")
    PythonScriptStep("prep.py", name="first", outputs=[data])
    return Pipeline(ws, [PythonScriptStep("prep.py", name="second", outputs=[data])])


def _cycle(ws):
    data = PipelineData("p1")
    a = PythonScriptStep("prep.py", name="a", outputs=[data])
    a.run_after(PythonScriptStep("train.py", name="b", inputs=[data]))
    return Pipeline(ws, [a])


def _missing_script(ws):
    return Pipeline(ws, [PythonScriptStep("nope.py", name="train")])


def _bad_port(ws):
    return Pipeline(ws, [PythonScriptStep("train.py", name="train", inputs=[DataReference(
        "workspaceblobstore", "bad-port", "x")])])


def _unknown_parameter(ws):
    step = PythonScriptStep("train.py", name="train", arguments=[PipelineParameter("lr", 0.1)])
    return Pipeline(ws, [step]).plan({"nope": 1})


def _unlisted_pipeline_data(ws):
    return Pipeline(ws, [PythonScriptStep("train.py", name="train", arguments=[PipelineData("loose")])])


def _dataset_not_promoted(ws):
    data = PipelineData("plain")
    PythonScriptStep("prep.py", name="producer", outputs=[data])
    return Pipeline(ws, [PythonScriptStep("train.py", name="train", inputs=[data.as_dataset()])])


@pytest.mark.parametrize(("build", "message"), [
    (_no_producer, r"Input orphan on step train is not connected to any previous step"),
    (_two_producers, r"Step output shared can not be used as an output for step second, as it is already an "
                     r"output of step first"),
    (_cycle, r"Cycle detected including node [ab]\(\w{8}\)"),
    (_missing_script, r"Step \[train\]: script not found at: .*nope\.py"),
    (_bad_port, r"Step \[train\]: \[bad-port\] is not a valid input name"),
    (_unknown_parameter, r"Pipeline parameter with name nope does not exist"),
    (_unlisted_pipeline_data, r"Step \[train\]: Input/Output loose appears in arguments list but is not in the "
                              r"input/output lists"),
    (_dataset_not_promoted, r"Step \[train\]: input plain asks for a dataset, but step \[producer\] does not "
                            r"promote output plain"),
], ids=["no-producer", "two-producers", "cycle", "missing-script", "bad-port", "unknown-parameter",
        "unlisted-pipeline-data", "dataset-not-promoted"])
def test_invalid_definitions_fail_at_build(ws, src, build, message) -> None:
    with pytest.raises(Exception, match=message):
        pipeline = build(ws)
        if isinstance(pipeline, Pipeline):
            pipeline.plan()


def test_definition_errors_are_value_errors_and_ours(ws, src) -> None:
    with pytest.raises(PipelineDefinitionError) as caught:
        _missing_script(ws)
    assert isinstance(caught.value, ValueError)


def test_plan_has_no_machine_state_but_source_directories(ws, src, tmp_path) -> None:
    text = _three_step_pipeline(ws, src).plan().to_json()
    assert str(tmp_path / "home") not in text
    assert Path(json.loads(text)["steps"][0]["source_directory"]) == src
