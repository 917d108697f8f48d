"""PythonScriptStep: every argument of AML_API §3.3 and the §3.4 construction rules (item 60)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from aml_bridge.data import DataReference, Dataset, DatasetConsumptionConfig, OutputFileDatasetConfig
from aml_bridge.pipeline import (
    Pipeline,
    PipelineData,
    PipelineDefinitionError,
    PipelineParameter,
    PipelineParameterError,
    PythonScriptStep,
)


def test_name_defaults_to_script_and_script_is_required() -> None:
    assert PythonScriptStep("train.py").name == "train.py"
    assert PythonScriptStep("train.py", name="t").name == "t"
    with pytest.raises(ValueError, match="script_name"):
        PythonScriptStep(None)  # type: ignore[arg-type]


def test_missing_script_fails_at_pipeline_construction_naming_the_step(ws, src, tmp_path) -> None:
    step = PythonScriptStep("missing.py", name="train", source_directory=str(src))
    with pytest.raises(PipelineDefinitionError, match=r"Step \[train\]: script not found at: .*missing\.py"):
        Pipeline(ws, [step])


def test_source_directory_falls_back_to_pipeline_default_then_cwd(ws, src, tmp_path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "only_here.py").write_text("")
    step = PythonScriptStep("only_here.py")
    plan = Pipeline(ws, [step], default_source_directory=str(other)).plan()
    assert plan.steps[0].source_directory == str(other)
    assert Pipeline(ws, [PythonScriptStep("train.py")]).plan().steps[0].source_directory == str(src)


def test_relative_source_directory_is_taken_against_the_cwd_at_construction(ws, src, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    step = PythonScriptStep("train.py", source_directory="src")
    pipeline = Pipeline(ws, [step])
    monkeypatch.chdir(src)
    assert pipeline.plan().steps[0].source_directory == str(src)


def test_compute_target_forms(ws, src) -> None:
    assert PythonScriptStep("train.py", compute_target="cpu").compute_target == "cpu"
    assert PythonScriptStep("train.py", compute_target=("cpu", "AmlCompute")).compute_target == "cpu"
    assert PythonScriptStep("train.py", compute_target=SimpleNamespace(name="gpu")).compute_target == "gpu"
    runconfig = SimpleNamespace(target="local", environment_variables={"A": "1"})
    assert PythonScriptStep("train.py", runconfig=runconfig).compute_target == "local"
    with pytest.raises(ValueError, match="batchai"):
        PythonScriptStep("train.py", compute_target=("old", "batchai"))
    with pytest.raises(ValueError, match=r"\(name, type\)"):
        PythonScriptStep("train.py", compute_target=("a", "b", "c"))


def test_runconfig_pipeline_params_rules() -> None:
    nodes = PipelineParameter("nodes", 2)
    step = PythonScriptStep("train.py", runconfig_pipeline_params={"NodeCount": nodes})
    assert step.runconfig_pipeline_params == {"NodeCount": nodes}
    with pytest.raises(ValueError, match="Runconfig property name Framework is not parameterizable"):
        PythonScriptStep("train.py", runconfig_pipeline_params={"Framework": nodes})
    with pytest.raises(ValueError, match="Runconfig property name Bogus is not valid"):
        PythonScriptStep("train.py", runconfig_pipeline_params={"Bogus": nodes})
    with pytest.raises(ValueError, match="must be a PipelineParameter"):
        PythonScriptStep("train.py", runconfig_pipeline_params={"NodeCount": 2})
    with pytest.raises(ValueError, match="Duplicate parameter name NodeCount"):
        PythonScriptStep("train.py", params={"NodeCount": 1}, runconfig_pipeline_params={"NodeCount": nodes})


def test_hash_paths_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        PythonScriptStep("train.py", hash_paths=["a.py"])
    assert "hash_paths is deprecated" in caplog.text


@pytest.mark.parametrize("binding", [
    lambda: DataReference("workspaceblobstore", data_reference_name="bad-name"),
    lambda: PipelineData("ok").as_input("bad-name"),
])
def test_bad_port_name_names_step_and_port(binding) -> None:
    with pytest.raises(PipelineDefinitionError, match=r"Step \[train\]: \[bad-name\] is not a valid input name"):
        PythonScriptStep("train.py", name="train", inputs=[binding()])


def test_duplicate_port_names_raise() -> None:
    data = PipelineData("p1")
    with pytest.raises(PipelineDefinitionError, match=r"Step \[s\]: input name \[p1\] is used twice"):
        PythonScriptStep("train.py", name="s", inputs=[data, data.as_download()])


def test_same_name_input_and_output_renames_the_input(ws, src) -> None:
    upstream = PipelineData("model")
    producer = PythonScriptStep("prep.py", name="p", outputs=[upstream])
    refined = PipelineData("model")
    step = PythonScriptStep("train.py", name="t", arguments=["--in", upstream, "--out", refined],
                            inputs=[upstream], outputs=[refined])
    plan_step = Pipeline(ws, [producer, step]).plan().step("t")
    assert [i.name for i in plan_step.inputs] == ["INPUT_model"]
    assert [o.name for o in plan_step.outputs] == ["model"]
    assert [a.value for a in plan_step.arguments if a.kind == "port"] == ["INPUT_model", "model"]


def test_second_producer_of_an_output_raises() -> None:
    data = PipelineData("p1")
    PythonScriptStep("prep.py", name="A", outputs=[data])
    with pytest.raises(ValueError, match="Step output p1 can not be used as an output for step B, "
                                         "as it is already an output of step A."):
        PythonScriptStep("train.py", name="B", outputs=[data])


def test_pipeline_data_in_arguments_must_be_listed() -> None:
    """Checklist item 60 (first half)."""
    with pytest.raises(ValueError, match=r"Step \[s\]: Input/Output p1 appears in arguments list but is not in "
                                         "the input/output lists"):
        PythonScriptStep("train.py", name="s", arguments=["--data", PipelineData("p1")])
    with pytest.raises(ValueError, match="appears in arguments list"):
        PythonScriptStep("train.py", arguments=[DataReference("workspaceblobstore", "ref", "x")])


def test_pipeline_data_listed_as_binding_resolves_to_that_input() -> None:
    data = PipelineData("p1")
    binding = data.as_download()
    step = PythonScriptStep("train.py", arguments=[data], inputs=[binding])
    assert step.arguments[0].kind == "port" and step.arguments[0].value is binding


def test_dataset_configs_in_arguments_are_auto_added(tmp_path) -> None:
    """Checklist item 60 (second half; the argv value is checked in test_pipeline_resolve)."""
    (tmp_path / "d.csv").write_text("a\n1\n")
    consumed = Dataset.File.from_files(str(tmp_path / "d.csv")).as_named_input("raw").as_mount()
    out = OutputFileDatasetConfig("out1")
    existing = PipelineData("pd1")
    step = PythonScriptStep("train.py", arguments=[consumed, out], outputs=[existing])
    assert step.inputs == [consumed]
    assert step.outputs == [existing, out]


def test_output_config_listed_in_inputs_is_an_input() -> None:
    out = OutputFileDatasetConfig("shared")
    step = PythonScriptStep("train.py", arguments=[out], inputs=[out])
    assert step.outputs == [] and step.arguments[0].output is False


def test_raw_dataset_is_rejected_in_arguments_and_inputs(tmp_path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    dataset = Dataset.File.from_files(str(tmp_path / "d.csv"))
    with pytest.raises(ValueError, match="Datasets cannot be used directly as arguments"):
        PythonScriptStep("train.py", arguments=[dataset])
    with pytest.raises(ValueError, match="as_named_input"):
        PythonScriptStep("train.py", inputs=[dataset])


def test_pipeline_parameter_argument_is_added_to_params_and_clashes_raise() -> None:
    lr = PipelineParameter("lr", 0.01)
    step = PythonScriptStep("train.py", arguments=["--lr", lr])
    assert step.params == {"lr": lr}
    with pytest.raises(PipelineParameterError, match="Parameter name lr is already in use"):
        PythonScriptStep("train.py", arguments=[lr], params={"lr": "literal"})


def test_parameter_prefix_resolves_only_known_params() -> None:
    step = PythonScriptStep("train.py", arguments=["parameter:my-p", "parameter:other"], params={"my-p": "v"})
    assert [(a.kind, a.value) for a in step.arguments] == [("literal", "v"), ("literal", "parameter:other")]


def test_tabular_dataset_cannot_be_mounted(tmp_path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    table = Dataset.Tabular.from_delimited_files(str(tmp_path / "d.csv"))
    with pytest.raises(Exception, match="does not support mount"):
        DatasetConsumptionConfig("t", table, "mount")
