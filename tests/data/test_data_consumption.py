"""DatasetConsumptionConfig and OutputFileDatasetConfig (AML_API §3.4)."""

from __future__ import annotations

import pytest

from aml_bridge.data import (
    Dataset,
    DatasetConsumptionConfig,
    DataType,
    OutputFileDatasetConfig,
    OutputTabularDatasetConfig,
)
from aml_bridge.errors import UserErrorException


@pytest.fixture
def csv(files):
    return str(files / "a.csv")


def test_as_named_input_and_modes(csv) -> None:
    dataset = Dataset.File.from_files(csv)
    config = dataset.as_named_input("raw")
    assert isinstance(config, DatasetConsumptionConfig)
    assert (config.name, config.mode, config.dataset is dataset) == ("raw", "direct", True)
    assert config.arg_val == "DatasetConsumptionConfig:raw"
    mounted = config.as_mount("data/in")
    assert (mounted.name, mounted.mode, mounted.path_on_compute) == ("raw", "mount", "data/in")
    assert config.as_download().mode == "download"


def test_default_name_comes_from_the_dataset_id(csv) -> None:
    dataset = Dataset.File.from_files(csv)
    assert dataset.as_mount().name == f"input__{dataset.id.split('-')[0]}"


@pytest.mark.parametrize("name", ["1abc", "with-dash", "a b"])
def test_input_names_follow_azure_rule(csv, name) -> None:
    with pytest.raises(UserErrorException, match="can only be alphanumeric characters and underscore"):
        Dataset.File.from_files(csv).as_named_input(name)


def test_invalid_mode_and_tabular_mount(csv) -> None:
    with pytest.raises(UserErrorException, match="Invalid mode 'stream'"):
        DatasetConsumptionConfig("x", Dataset.File.from_files(csv), "stream")
    table = Dataset.Tabular.from_delimited_files(csv)
    with pytest.raises(UserErrorException, match="does not support download"):
        table.as_named_input("t").as_download()
    with pytest.raises(UserErrorException, match="does not support mount"):
        table.as_mount()


def test_registered_dataset_tuple_is_looked_up(ws, csv) -> None:
    registered = Dataset.File.from_files(csv).register(ws, "reg")
    config = DatasetConsumptionConfig("r", (ws, "reg"))
    assert config.dataset.id == registered.id


def test_pipeline_parameter_must_hold_a_dataset(csv) -> None:
    from aml_bridge.pipeline import PipelineParameter

    with pytest.raises(UserErrorException, match="Default value must be of types"):
        DatasetConsumptionConfig("p", PipelineParameter("p", "text"))
    assert DatasetConsumptionConfig("p", PipelineParameter("p", Dataset.File.from_files(csv))).name == "p"


def test_output_config_defaults_and_modes() -> None:
    out = OutputFileDatasetConfig()
    assert out.mode == "mount" and out.destination is None and out.source is None
    assert out.destination_path == "dataset/{run-id}/{output-name}"
    assert out.name.startswith("output_") and len(out.name) == len("output_") + 8
    named = OutputFileDatasetConfig("model", destination=("lake", "models/{run-id}"), source="/tmp/m")
    assert (named.destination_datastore_name, named.destination_path, named.arg_val) == (
        "lake", "models/{run-id}", "DatasetOutputConfig:model")
    upload = named.as_upload(overwrite=True, source_globs=["*.pkl"])
    assert (upload.mode, upload._upload_options, named.mode) == (
        "upload", {"overwrite": True, "source_globs": ["*.pkl"]}, "mount")
    assert upload.as_mount().mode == "mount"
    with pytest.raises(UserErrorException, match="Invalid output name"):
        OutputFileDatasetConfig("bad-name")


def test_output_config_as_input_and_promotion() -> None:
    out = OutputFileDatasetConfig("prepared")
    consumer = out.as_input("prepared_in")
    assert (consumer.name, consumer.mode, consumer.dataset is out) == ("prepared_in", "mount", True)
    table = out.read_delimited_files(separator=";", set_column_types={"a": DataType.to_long()})
    assert isinstance(table, OutputTabularDatasetConfig) and table.name == "prepared"
    assert table._promotion["format"]["separator"] == ";"
    assert table._promotion["format"]["column_types"] == {"a": {"kind": "long", "formats": None}}
    assert table.as_input("rows").mode == "direct"
    with pytest.raises(UserErrorException, match="does not support mount"):
        DatasetConsumptionConfig("rows", table, "mount")
    assert out.read_parquet_files()._promotion["format"]["kind"] == "parquet"


def test_register_on_complete_is_recorded_on_a_copy() -> None:
    out = OutputFileDatasetConfig("o")
    registered = out.register_on_complete("cleaned", description="d", tags={"a": "b"})
    assert registered._registration == {"name": "cleaned", "description": "d", "tags": {"a": "b"}}
    assert out._registration is None
    with pytest.raises(ValueError, match="must not be empty"):
        out.register_on_complete("")
