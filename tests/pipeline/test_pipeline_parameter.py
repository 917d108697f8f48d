"""PipelineParameter rules (AML_API §3.5, checklist items 62 and 63)."""

from __future__ import annotations

import pytest

from aml_bridge.data import DataPath, Dataset
from aml_bridge.pipeline import (
    Pipeline,
    PipelineParameter,
    PipelineParameterError,
    PipelineParameterTypeError,
    PythonScriptStep,
)


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, None, (1,)])
def test_unsupported_defaults_raise(value: object) -> None:
    """Checklist item 63."""
    with pytest.raises(ValueError, match=f"Default value is of unsupported type: {type(value).__name__}"):
        PipelineParameter("x", value)


def test_str_format() -> None:
    assert str(PipelineParameter("lr", 0.01)) == "PipelineParameter_Name:lr_Default:0.01"


def test_supported_defaults(ws, tmp_path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    for value in (1, 0.5, True, "s", DataPath("workspaceblobstore", "x"),
                  Dataset.File.from_files(str(tmp_path / "d.csv"))):
        assert PipelineParameter("p", value).default_value is value


def test_same_name_with_different_defaults_raises(ws, src) -> None:
    a = PythonScriptStep("prep.py", arguments=[PipelineParameter("lr", 0.1)])
    b = PythonScriptStep("train.py", arguments=[PipelineParameter("lr", 0.2)])
    with pytest.raises(PipelineParameterError, match="same name lr but different values"):
        Pipeline(ws, [a, b]).plan()


def test_same_name_same_default_is_one_parameter(ws, src) -> None:
    a = PythonScriptStep("prep.py", arguments=[PipelineParameter("lr", 0.1)])
    b = PythonScriptStep("train.py", params={"rate": PipelineParameter("lr", 0.1)})
    assert Pipeline(ws, [a, b]).plan().parameters == {"lr": 0.1}


def test_unknown_submitted_parameter_raises_azure_message(ws, src) -> None:
    """Checklist item 62 (last part)."""
    pipeline = Pipeline(ws, [PythonScriptStep("prep.py", arguments=[PipelineParameter("lr", 0.01)])])
    with pytest.raises(Exception, match="Pipeline parameter with name unknown does not exist"):
        pipeline.plan().parameter_values({"unknown": 1})
    with pytest.raises(Exception, match="Pipeline parameter with name unknown does not exist"):
        pipeline.submit("exp", pipeline_parameters={"unknown": 1})
    assert pipeline.plan().parameter_values({"lr": 0.1}) == {"lr": 0.1}


def test_dataset_parameters_need_the_same_dataset_kind(ws, src, tmp_path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    files = Dataset.File.from_files(str(tmp_path / "d.csv"))
    table = Dataset.Tabular.from_delimited_files(str(tmp_path / "d.csv"))
    param = PipelineParameter("data", files)
    from aml_bridge.data import DatasetConsumptionConfig

    step = PythonScriptStep("prep.py", arguments=[DatasetConsumptionConfig("data", param).as_mount()])
    plan = Pipeline(ws, [step]).plan()
    assert plan.parameter_kinds == {"data": "file_dataset"}
    assert plan.parameter_values({"data": files})["data"] == files.to_dict()
    with pytest.raises(PipelineParameterTypeError, match="expects a file dataset"):
        plan.parameter_values({"data": table})


def test_submit_without_a_runner_says_what_is_missing(ws, src) -> None:
    from aml_bridge.errors import PluginError
    from aml_bridge.plugins import build_plugin_manager, set_plugin_manager

    set_plugin_manager(build_plugin_manager(load_entrypoints=False))
    try:
        pipeline = Pipeline(ws, [PythonScriptStep("prep.py", arguments=[PipelineParameter("lr", 0.01)])])
        with pytest.raises(PluginError, match="aml_submit_pipeline"):
            pipeline.submit("exp", pipeline_parameters={"lr": 0.5})
    finally:
        set_plugin_manager(None)
