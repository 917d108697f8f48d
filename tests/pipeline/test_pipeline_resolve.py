"""Run-time resolution: argv and environment of a step (AML_API §3.4/§3.6/§8.1; items 60–62)."""

from __future__ import annotations

import pytest

from aml_bridge.data import DataPath, DataPathComputeBinding, DataReference, Dataset, OutputFileDatasetConfig
from aml_bridge.pipeline import Pipeline, PipelineData, PipelineParameter, PythonScriptStep
from aml_bridge.pipeline.resolve import (
    input_location,
    output_locations,
    parameter_names,
    render,
    render_path_template,
    resolve_arguments,
    step_environment,
    step_parameters,
)


def _plan_step(ws, step, *others):
    plan = Pipeline(ws, [*others, step]).plan()
    return plan, plan.step(step.name)


@pytest.mark.parametrize(("item", "expected"), [
    ("text", "text"), (5, "5"), (0.01, "0.01"), (True, "True"), (False, "False"),
    ("a;b=eval('x')", "a;b=eval('x')"),
])
def test_literals_render_with_str(ws, src, item, expected) -> None:
    _, step = _plan_step(ws, PythonScriptStep("train.py", arguments=["--v", item]))
    assert resolve_arguments(step, {}, {}) == ["--v", expected]


def test_params_become_aml_parameter_variables_and_parameter_prefix_args(ws, src) -> None:
    """Checklist item 61."""
    step = PythonScriptStep("train.py", arguments=["parameter:my-p"], params={"my-p": "v", "a~b.c": 3})
    plan, planned = _plan_step(ws, step)
    env = step_environment(planned, {}, plan.parameter_values())
    assert env["AML_PARAMETER_my_p"] == "v"
    assert env["AML_PARAMETER_a_b_c"] == "3"
    assert resolve_arguments(planned, {}, plan.parameter_values()) == ["v"]


def test_pipeline_parameter_default_and_submitted_value(ws, src) -> None:
    """Checklist item 62."""
    step = PythonScriptStep("train.py", arguments=["--lr", PipelineParameter("lr", 0.01)])
    plan, planned = _plan_step(ws, step)
    assert resolve_arguments(planned, {}, plan.parameter_values()) == ["--lr", "0.01"]
    submitted = plan.parameter_values({"lr": 0.1})
    assert resolve_arguments(planned, {}, submitted) == ["--lr", "0.1"]
    assert step_environment(planned, {}, submitted)["AML_PARAMETER_lr"] == "0.1"
    assert parameter_names(planned) == ["lr"] and step_parameters(planned, submitted) == {"lr": 0.1}
    with pytest.raises(KeyError, match="reads pipeline parameter 'lr'"):
        resolve_arguments(planned, {}, {})


def test_ports_become_absolute_paths_and_dataref_variables(ws, src) -> None:
    data_in, data_out = PipelineData("raw"), PipelineData("clean")
    producer = PythonScriptStep("prep.py", outputs=[data_in])
    ref = DataReference("workspaceblobstore", "ref", "x")
    step = PythonScriptStep("train.py", arguments=["--in", data_in, "--out", data_out, "--ref", ref],
                            inputs=[data_in, ref], outputs=[data_out])
    plan, planned = _plan_step(ws, step, producer)
    ports = {"raw": "/mnt/raw", "clean": "/mnt/clean", "ref": "/mnt/ref"}
    assert resolve_arguments(planned, ports, {}) == ["--in", "/mnt/raw", "--out", "/mnt/clean", "--ref", "/mnt/ref"]
    env = step_environment(planned, ports, {})
    assert {k: v for k, v in env.items() if k.startswith("AZUREML_DATAREFERENCE_")} == {
        "AZUREML_DATAREFERENCE_raw": "/mnt/raw", "AZUREML_DATAREFERENCE_clean": "/mnt/clean",
        "AZUREML_DATAREFERENCE_ref": "/mnt/ref"}
    with pytest.raises(KeyError, match="no local path given for port 'raw'"):
        resolve_arguments(planned, {}, {})


def test_upload_mode_pipeline_data_gets_no_variable(ws, src) -> None:
    out = PipelineData("up", output_mode="upload", output_path_on_compute="outputs/up")
    _, planned = _plan_step(ws, PythonScriptStep("prep.py", arguments=[out], outputs=[out]))
    assert resolve_arguments(planned, {"up": "/w/outputs/up"}, {}) == ["/w/outputs/up"]
    assert "AZUREML_DATAREFERENCE_up" not in step_environment(planned, {"up": "/w/outputs/up"}, {})


def test_dataset_inputs_and_outputs_variables(ws, src, tmp_path) -> None:
    """Checklist item 60 (output config auto-added; its value is a directory path) plus dataset variables."""
    (tmp_path / "d.csv").write_text("a\n1\n")
    dataset = Dataset.File.from_files(str(tmp_path / "d.csv"))
    table = Dataset.Tabular.from_delimited_files(str(tmp_path / "d.csv"))
    out = OutputFileDatasetConfig("out1")
    step = PythonScriptStep("train.py", arguments=[dataset.as_named_input("files").as_mount(), out,
                                                   table.as_named_input("rows")])
    _, planned = _plan_step(ws, step)
    ports = {"files": "/mnt/files", "out1": "/mnt/out1"}
    assert resolve_arguments(planned, ports, {}) == ["/mnt/files", "/mnt/out1", table.id]
    env = step_environment(planned, ports, {})
    assert (env["files"], env["rows"], env["out1"]) == ("/mnt/files", table.id, "/mnt/out1")
    assert env["AZUREML_DATASET_ENVIRONMENT_VARS"] == "files:mount,rows:direct"
    assert env["AZUREML_DATASET_FILE_OUTPUTS"] == "out1"


def test_runconfig_environment_variables_are_included(ws, src) -> None:
    from types import SimpleNamespace

    runconfig = SimpleNamespace(target="local", environment_variables={"A": "1"},
                                environment=SimpleNamespace(environment_variables={"B": "2"}))
    _, planned = _plan_step(ws, PythonScriptStep("train.py", runconfig=runconfig))
    env = step_environment(planned, {}, {})
    assert (env["A"], env["B"]) == ("1", "2")


def test_output_paths_render_per_run(ws, src) -> None:
    data = PipelineData("p1", datastore="store2")
    out = OutputFileDatasetConfig("o", destination=("lake", "exports/{run-id}/{output-name}/"))
    _, planned = _plan_step(ws, PythonScriptStep("prep.py", arguments=[data, out], outputs=[data]))
    assert output_locations(planned, "run-1") == {"p1": ("store2", "azureml/run-1/p1"),
                                                  "o": ("lake", "exports/run-1/o/")}
    assert render_path_template("/dataset/{run-id}/{output-name}", "r", "n") == "dataset/r/n"


def test_datapath_parameter_input_location_follows_the_submission(ws, src) -> None:
    param = PipelineParameter("input_path", DataPath("workspaceblobstore", "raw/2024"))
    step = PythonScriptStep("train.py", arguments=[(param, DataPathComputeBinding())])
    plan, planned = _plan_step(ws, step)
    inp = planned.input("input_path")
    assert input_location(planned, inp, plan.parameter_values()) == {
        "type": "datastore", "datastore": "workspaceblobstore", "path": "raw/2024"}
    submitted = plan.parameter_values({"input_path": DataPath("other", "raw/2025")})
    assert input_location(planned, inp, submitted)["path"] == "raw/2025"
    assert resolve_arguments(planned, {"input_path": "/mnt/in"}, submitted) == ["/mnt/in"]
    assert step_environment(planned, {"input_path": "/mnt/in"}, submitted)[
        "AZUREML_DATAREFERENCE_input_path"] == "/mnt/in"


def test_render_values() -> None:
    assert render(True) == "True" and render(3) == "3"
    assert render({"datastore": "ws", "path": "a/b"}) == "ws/a/b"
