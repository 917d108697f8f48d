"""File and tabular datasets on the local datastore (pandas and pyarrow read the rows)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aml_bridge.data import (
    DataPath,
    Dataset,
    DataType,
    FileDataset,
    PromoteHeadersBehavior,
    TabularDataset,
    default_datastore,
)
from aml_bridge.errors import UserErrorException


@pytest.fixture
def store(ws, files):
    datastore = default_datastore(ws)
    datastore.upload(str(files), target_path="raw", show_progress=False)
    return datastore


def test_from_files_with_tuple_folder_file_and_globs(store) -> None:
    assert Dataset.File.from_files((store, "raw")).to_path() == ["/a.csv", "/b.csv", "/notes.txt", "/sub/c.csv"]
    assert Dataset.File.from_files((store, "raw/a.csv")).to_path() == ["/a.csv"]
    assert Dataset.File.from_files((store, "raw/*.csv")).to_path() == ["/a.csv", "/b.csv"]
    assert Dataset.File.from_files((store, "raw/**/*.csv")).to_path() == ["/a.csv", "/b.csv", "/sub/c.csv"]
    assert Dataset.File.from_files([(store, "raw/a.csv"), DataPath(store, "raw/sub")]).to_path() == [
        "/a.csv", "/c.csv"]


def test_from_files_with_local_paths(files) -> None:
    dataset = Dataset.File.from_files(str(files / "*.csv"))
    assert dataset.to_path() == ["/a.csv", "/b.csv"]
    assert isinstance(dataset, FileDataset) and dataset.name is None


def test_validation_of_empty_paths(store) -> None:
    with pytest.raises(UserErrorException, match="Cannot load any data from the specified path"):
        Dataset.File.from_files((store, "nothing/here"))
    assert Dataset.File.from_files((store, "nothing/here"), validate=False).to_path() == []


def test_download_keeps_layout_and_refuses_overwrite(store, tmp_path) -> None:
    dataset = Dataset.File.from_files((store, "raw/**/*.csv"))
    paths = dataset.download(str(tmp_path / "dl"))
    assert sorted(Path(p).relative_to(tmp_path / "dl").as_posix() for p in paths) == ["a.csv", "b.csv", "sub/c.csv"]
    assert (tmp_path / "dl" / "sub" / "c.csv").read_text() == "x,y\n4,d\n"
    with pytest.raises(UserErrorException, match="already exists"):
        dataset.download(str(tmp_path / "dl"))
    assert len(dataset.download(str(tmp_path / "dl"), overwrite=True)) == 3


def test_mount_context_shows_files_and_cleans_up(store) -> None:
    dataset = Dataset.File.from_files((store, "raw"))
    with dataset.mount() as context:
        mount_point = context.mount_point
        assert sorted(os.listdir(mount_point)) == ["a.csv", "b.csv", "notes.txt", "sub"]
        assert Path(mount_point, "sub", "c.csv").read_text() == "x,y\n4,d\n"
    assert not os.path.exists(mount_point)


def test_local_view_gives_the_file_for_one_file_datasets(store, tmp_path) -> None:
    single = Dataset.File.from_files((store, "raw/a.csv"))
    assert single._local_view(str(tmp_path / "v1"), "mount") == str(tmp_path / "v1" / "a.csv")
    folder = Dataset.File.from_files((store, "raw/sub"))
    assert folder._local_view(str(tmp_path / "v2"), "download") == str(tmp_path / "v2")


def test_take_and_skip_on_files(store) -> None:
    dataset = Dataset.File.from_files((store, "raw"))
    assert dataset.take(2).to_path() == ["/a.csv", "/b.csv"]
    assert dataset.skip(3).to_path() == ["/sub/c.csv"]


def test_delimited_files_to_pandas(store) -> None:
    table = Dataset.Tabular.from_delimited_files((store, "raw/**/*.csv"))
    assert isinstance(table, TabularDataset)
    frame = table.to_pandas_dataframe()
    assert list(frame.columns) == ["x", "y"]
    assert frame["x"].tolist() == [1, 2, 3, 4] and frame["y"].tolist() == ["a", "b", "c", "d"]
    with_path = Dataset.Tabular.from_delimited_files((store, "raw/*.csv"), include_path=True).to_pandas_dataframe()
    assert with_path["Path"].tolist() == ["/a.csv", "/a.csv", "/b.csv"]


def test_delimited_options(files) -> None:
    (files / "semi.txt").write_text("1;x\n2;y\n")
    table = Dataset.Tabular.from_delimited_files(str(files / "semi.txt"), separator=";", header=False)
    frame = table.to_pandas_dataframe()
    assert list(frame.columns) == ["Column1", "Column2"] and frame["Column1"].tolist() == [1, 2]
    strings = Dataset.Tabular.from_delimited_files(str(files / "a.csv"), infer_column_types=False)
    assert strings.to_pandas_dataframe()["x"].tolist() == ["1", "2"]
    typed = Dataset.Tabular.from_delimited_files(str(files / "a.csv"),
                                                 set_column_types={"x": DataType.to_float(), "y": DataType.to_string()})
    assert typed.to_pandas_dataframe()["x"].tolist() == [1.0, 2.0]
    first_only = Dataset.Tabular.from_delimited_files(
        str(files / "a.csv"), header=PromoteHeadersBehavior.ONLY_FIRST_FILE_HAS_HEADERS)
    assert list(first_only.to_pandas_dataframe().columns) == ["x", "y"]


def test_partition_format_adds_columns(ws, tmp_path) -> None:
    root = tmp_path / "parts"
    for dept, day in [("sales", "2024/01/02"), ("ops", "2024/03/04")]:
        folder = root / dept / day
        folder.mkdir(parents=True)
        (folder / "data.csv").write_text("v\n1\n")
    table = Dataset.Tabular.from_delimited_files(str(root / "**" / "data.csv"),
                                                 partition_format="/{Dept}/{Day:yyyy/MM/dd}/data.csv")
    frame = table.to_pandas_dataframe()
    assert sorted(frame["Dept"].tolist()) == ["ops", "sales"]
    assert sorted(str(d.date()) for d in frame["Day"]) == ["2024-01-02", "2024-03-04"]


def test_parquet_files_to_pandas(store, tmp_path) -> None:
    import pandas as pd

    local = tmp_path / "pq"
    local.mkdir()
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(local / "one.parquet")
    pd.DataFrame({"a": [3], "b": ["z"]}).to_parquet(local / "two.parquet")
    store.upload(str(local), target_path="pq", show_progress=False)
    table = Dataset.Tabular.from_parquet_files((store, "pq/*.parquet"))
    frame = table.to_pandas_dataframe()
    assert frame["a"].tolist() == [1, 2, 3] and frame["b"].tolist() == ["x", "y", "z"]


def test_tabular_transforms(store) -> None:
    table = Dataset.Tabular.from_delimited_files((store, "raw/**/*.csv"))
    assert table.take(2).to_pandas_dataframe()["x"].tolist() == [1, 2]
    assert table.skip(1).take(2).to_pandas_dataframe()["x"].tolist() == [2, 3]
    assert list(table.keep_columns("y").to_pandas_dataframe().columns) == ["y"]
    assert list(table.drop_columns(["y"]).to_pandas_dataframe().columns) == ["x"]


def test_dict_round_trip_and_stable_id(store) -> None:
    table = Dataset.Tabular.from_delimited_files((store, "raw/a.csv"), separator=",")
    again = Dataset.Tabular.from_delimited_files((store, "raw/a.csv"))
    assert table.id == again.id and len(table.id) == 36
    assert Dataset.File.from_files((store, "raw/a.csv")).id != table.id
    from aml_bridge.data import AbstractDataset

    copy = AbstractDataset.from_dict(table.to_dict(), store.workspace)
    assert isinstance(copy, TabularDataset) and copy.id == table.id
    assert copy.to_pandas_dataframe()["x"].tolist() == [1, 2]


def test_datasets_resolve_the_workspace_from_the_environment(store, ws, monkeypatch) -> None:
    """A step process rebuilds datasets from JSON; the datastore then comes from AML_BRIDGE_HOME."""
    from aml_bridge.data import AbstractDataset

    data = Dataset.File.from_files((store, "raw/a.csv")).to_dict()
    monkeypatch.setenv("AML_BRIDGE_HOME", ws.config.home)
    assert AbstractDataset.from_dict(data).to_path() == ["/a.csv"]
