"""File and tabular datasets on an S3 datastore: globs, download/mount, pandas (streamed), registry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aml_bridge.data import Dataset
from aml_bridge.errors import UserErrorException
from tests.support.s3_endpoint import FaultProxy


@pytest.fixture
def ws(make_s3_ws, bucket):
    return make_s3_ws(bucket)


@pytest.fixture
def store(ws, files):
    datastore = ws.get_default_datastore()
    datastore.upload(str(files), target_path="raw", show_progress=False)
    return datastore


def test_from_files_globs_and_paths(store) -> None:
    assert Dataset.File.from_files((store, "raw")).to_path() == ["/a.csv", "/b.csv", "/notes.txt", "/sub/c.csv"]
    assert Dataset.File.from_files((store, "raw/**/*.csv")).to_path() == ["/a.csv", "/b.csv", "/sub/c.csv"]
    assert Dataset.File.from_files((store, "raw/*.csv")).to_path() == ["/a.csv", "/b.csv"]
    assert Dataset.File.from_files(store.path("raw/a.csv")).to_path() == ["/a.csv"]
    with pytest.raises(UserErrorException, match="Cannot load any data"):
        Dataset.File.from_files((store, "nothing/here"))


def test_download_and_mount_copy_from_s3(store, tmp_path) -> None:
    dataset = Dataset.File.from_files((store, "raw/**/*.csv"))
    paths = dataset.download(str(tmp_path / "dl"))
    assert sorted(Path(p).relative_to(tmp_path / "dl").as_posix() for p in paths) == ["a.csv", "b.csv", "sub/c.csv"]
    assert (tmp_path / "dl" / "sub" / "c.csv").read_text() == "x,y\n4,d\n"
    with pytest.raises(UserErrorException, match="already exists"):
        dataset.download(str(tmp_path / "dl"))
    with Dataset.File.from_files((store, "raw")).mount() as context:
        assert sorted(os.listdir(context.mount_point)) == ["a.csv", "b.csv", "notes.txt", "sub"]
        assert not os.path.islink(Path(context.mount_point, "a.csv"))  # S3 "mount" = download-before
        mount_point = context.mount_point
    assert not os.path.exists(mount_point)
    single = Dataset.File.from_files((store, "raw/a.csv"))
    assert Path(single._local_view(str(tmp_path / "v"), "mount")).read_text() == "x,y\n1,a\n2,b\n"


def test_delimited_and_parquet_to_pandas(store, tmp_path) -> None:
    import pandas as pd

    table = Dataset.Tabular.from_delimited_files((store, "raw/**/*.csv"), include_path=True)
    frame = table.to_pandas_dataframe()
    assert frame["x"].tolist() == [1, 2, 3, 4] and frame["Path"].tolist()[-1] == "/sub/c.csv"
    assert table.skip(1).take(2).keep_columns("x").to_pandas_dataframe()["x"].tolist() == [2, 3]
    local = tmp_path / "pq"
    local.mkdir()
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(local / "one.parquet")
    pd.DataFrame({"a": [3], "b": ["z"]}).to_parquet(local / "two.parquet")
    store.upload(str(local), target_path="pq", show_progress=False)
    parquet = Dataset.Tabular.from_parquet_files((store, "pq/*.parquet")).to_pandas_dataframe()
    assert parquet["a"].tolist() == [1, 2, 3] and parquet["b"].tolist() == ["x", "y", "z"]


def test_reads_are_ranged_streams_not_whole_copies(make_s3_ws, bucket, s3, s3_endpoint) -> None:
    """Reading the head of a 20 MB object moves one read buffer (8 MB), not the object; seeking works."""
    s3.put_object(Bucket=bucket, Key="ws/big.bin", Body=bytes(range(256)) * (20 * 4096))
    with FaultProxy(s3_endpoint) as proxy:
        backend = make_s3_ws(bucket, datastores={"counted": {
            "type": "s3", "bucket": bucket, "prefix": "ws", "endpoint_url": proxy.url}}).datastores["counted"].backend
        with backend.open("big.bin") as handle:
            assert handle.read(4) == bytes([0, 1, 2, 3])
            handle.seek(20 * 1024 * 1024 - 2)
            assert handle.read() == bytes([254, 255])
            assert handle.seekable()
        assert proxy.bytes_out < 9 * 1024 * 1024


def test_register_and_get_by_name_on_s3(ws, store, s3, bucket) -> None:
    dataset = Dataset.Tabular.from_delimited_files((store, "raw/*.csv"))
    registered = dataset.register(ws, "sales", description="d", tags={"k": "v"})
    assert registered.version == 1
    assert "ws/.aml_bridge/datasets/sales/1.json" in [o["Key"] for o in s3.list_objects_v2(
        Bucket=bucket, Prefix="ws/.aml_bridge/")["Contents"]]
    again = Dataset.Tabular.from_delimited_files((store, "raw/**/*.csv")).register(ws, "sales",
                                                                                   create_new_version=True)
    assert again.version == 2
    latest = Dataset.get_by_name(ws, "sales")
    assert latest.version == 2 and latest.to_pandas_dataframe()["x"].tolist() == [1, 2, 3, 4]
    first = Dataset.get_by_name(ws, "sales", version=1)
    assert first.tags == {"k": "v"} and Dataset.get_by_id(ws, first.id).version == 1
    assert set(Dataset.get_all(ws)) == {"sales"}


def test_hook_aml_log_dataset_inputs(ws, store) -> None:
    """Lineage: a consumed dataset becomes an MLflow dataset input with its S3 URIs and ETag digest."""
    from mlflow import MlflowClient

    from aml_bridge import Experiment
    from aml_bridge.plugins import hooks

    run = Experiment(ws, "lineage").start_logging(snapshot_directory=None, outputs=False)
    dataset = Dataset.Tabular.from_delimited_files((store, "raw/*.csv")).register(ws, "sales_lineage")
    content = dataset._content_id()
    hooks.aml_log_dataset_inputs(workspace=ws.config, run_id=run._backend_id,
                                 datasets=[dataset._lineage("train_data", content)])
    run.complete()
    (logged,) = MlflowClient(ws.config.tracking_uri).get_run(run._backend_id).inputs.dataset_inputs
    assert (logged.dataset.name, logged.dataset.source_type) == ("sales_lineage", "s3")
    assert logged.dataset.digest == content[:32]
    source = json.loads(logged.dataset.source)
    assert source["uris"] == [store.backend.uri("raw/*.csv")] and source["version"] == 1
    assert {t.key: t.value for t in logged.tags} == {"mlflow.data.context": "train_data"}
