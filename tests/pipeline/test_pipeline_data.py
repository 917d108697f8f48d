"""PipelineData and its bindings (checklist item 57, AML_API §3.4)."""

from __future__ import annotations

import pytest

from aml_bridge.pipeline import InputPortBinding, PipelineData, PipelineOutputFileDataset
from aml_bridge.pipeline.pipeline_data import PipelineOutputTabularDataset


def test_str_is_the_data_reference_variable() -> None:
    """Checklist item 57."""
    assert str(PipelineData("p1")) == "$AZUREML_DATAREFERENCE_p1"
    assert PipelineData("p1").get_env_variable_name() == "$AZUREML_DATAREFERENCE_p1"


@pytest.mark.parametrize("name", ["bad-name", "", "a b", "x.y"])
def test_invalid_names_raise_value_error(name: str) -> None:
    """Checklist item 57."""
    with pytest.raises(ValueError, match="not a valid PipelineData name"):
        PipelineData(name)


def test_invalid_output_name_and_mode_raise() -> None:
    with pytest.raises(ValueError, match="output_name"):
        PipelineData("ok", output_name="not-ok")
    with pytest.raises(ValueError, match="output_mode"):
        PipelineData("ok", output_mode="download")


def test_bindings_carry_name_mode_and_path() -> None:
    data = PipelineData("p1")
    mount = data.as_mount()
    assert isinstance(mount, InputPortBinding)
    assert (mount.name, mount.bind_mode, mount.bind_object) == ("p1", "mount", data)
    download = data.as_download(input_name="raw", path_on_compute="inputs/raw", overwrite=True)
    assert (download.name, download.bind_mode, download.path_on_compute, download.overwrite) == (
        "raw", "download", "inputs/raw", True)
    assert data.as_input("other").name == "other"
    assert str(download) == "$AZUREML_DATAREFERENCE_raw"
    with pytest.raises(ValueError, match="bind_mode"):
        data.create_input_binding(mode="direct")


def test_as_dataset_promotes_and_parses() -> None:
    data = PipelineData("p1")
    promoted = data.as_dataset()
    assert isinstance(promoted, PipelineOutputFileDataset)
    assert (promoted.name, promoted.mode) == ("p1", "mount")
    assert promoted.as_named_input("renamed").name == "renamed"
    assert promoted.as_download("here").mode == "download"
    tabular = promoted.parse_delimited_files(separator=";")
    assert isinstance(tabular, PipelineOutputTabularDataset)
    assert tabular.mode == "direct" and tabular._format["separator"] == ";"
    assert promoted.parse_parquet_files()._format["kind"] == "parquet"
