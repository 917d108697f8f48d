"""A parallel step's manifest over S3 objects (moto server over HTTP, through a request-logging proxy):
the same mini-batches and rows as the local files, only the needed bytes read, a changed object
refused, a versioned bucket read at the listed version."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aml_bridge.data import Dataset
from aml_bridge.data.s3_pinned import ObjectChangedError
from aml_bridge.execution.parallel_inputs import dataset_entries
from aml_bridge.parallel import loader, manifest
from tests.support.s3_endpoint import FaultProxy, s3_store


@pytest.fixture
def proxy(s3_endpoint):
    with FaultProxy(s3_endpoint) as found:
        yield found


@pytest.fixture
def ws(make_s3_ws, bucket, proxy, monkeypatch):
    """The default datastore on S3 through the proxy; this process resolves it as a worker does."""
    found = make_s3_ws(bucket, datastores={"workspaceblobstore": s3_store(proxy.url, bucket, "ws")})
    monkeypatch.setenv("AML_BRIDGE_CONFIG", found.config.config_path)
    monkeypatch.setenv("AML_BRIDGE_HOME", found.config.home)
    return found


def _object_gets(proxy: FaultProxy) -> Counter:
    """GETs of objects (not listings) per key, through the proxy."""
    found = Counter()
    for method, path, _range in proxy.log:
        parts = urlsplit(path)
        if method == "GET" and not parts.query:
            found[unquote(parts.path).split("/", 2)[2]] += 1
    return found


def _tables(tmp_path: Path, s3, bucket: str) -> Path:
    folder = tmp_path / "tables"
    folder.mkdir()
    rows = pd.DataFrame({"id": range(400), "x": [i * 0.5 for i in range(400)], "name": [f"n{i}" for i in range(400)]})
    rows.iloc[:250].to_csv(folder / "a.csv", index=False)
    rows.iloc[250:].to_csv(folder / "b.csv", index=False)
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), folder / "c.parquet", row_group_size=50)
    for path in sorted(folder.iterdir()):
        s3.put_object(Bucket=bucket, Key=f"ws/tables/{path.name}", Body=path.read_bytes())
    return folder


def _s3_entries(ws, pattern: str) -> list:
    store = ws.get_default_datastore()
    uri, stream = dataset_entries(Dataset.File.from_files((store, pattern)), ws.config)
    assert uri.startswith("s3://")
    return list(stream())


def test_tabular_chunks_on_s3_match_the_local_files(ws, s3, bucket, tmp_path, proxy):
    local = _tables(tmp_path, s3, bucket)
    entries = _s3_entries(ws, "tables/*")
    assert [(e["name"], e["size"]) for e in entries] == [(p.name, p.stat().st_size) for p in sorted(local.iterdir())]
    assert all(e["etag"] and "version" not in e for e in entries)

    here = manifest.build("tabular", [str(p) for p in sorted(local.iterdir())], 1500)
    proxy.log.clear()
    there = manifest.build("tabular", entries, 1500)
    assert len(there) == len(here) > 10
    for mine, theirs in zip(there, here):  # the same byte ranges and row ranges, chunk by chunk
        assert {k: v for k, v in mine["chunks"][0].items() if k != "file"} == \
               {k: v for k, v in theirs["chunks"][0].items() if k != "file"}
    assert sum(1 for m, p, r in proxy.log if m == "GET" and r is None and not urlsplit(p).query) == 0  # ranges only
    for mine, theirs in zip(there, here):
        pd.testing.assert_frame_equal(manifest.load(mine), manifest.load(theirs))


def test_parquet_chunks_read_the_footer_and_their_row_groups_only(ws, s3, bucket, tmp_path, proxy):
    import numpy as np

    rows = pd.DataFrame({"id": np.arange(40_000), "x": np.random.default_rng(1).random(40_000)})
    path = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path, row_group_size=5_000)
    s3.put_object(Bucket=bucket, Key="ws/big/big.parquet", Body=path.read_bytes())
    size = path.stat().st_size
    proxy.log.clear()
    batches = manifest.build("tabular", _s3_entries(ws, "big"), size // 8)
    footer_reads = [r for m, p, r in proxy.log if m == "GET" and p.endswith("big.parquet")]
    assert len(batches) >= 8 and len(footer_reads) <= 2  # the footer once, not the file
    here = manifest.build("tabular", [str(path)], size // 8)
    assert [b["chunks"][0]["rows"] for b in batches] == [b["chunks"][0]["rows"] for b in here]
    proxy.log.clear()
    frame = manifest.load(batches[3])
    pd.testing.assert_frame_equal(frame, manifest.load(here[3]))
    ranges = [r for m, p, r in proxy.log if m == "GET" and p.endswith("big.parquet")]
    read = sum(int(b) - int(a) + 1 for a, b in (r.removeprefix("bytes=").split("-") for r in ranges))
    assert read < size / 2, (read, size)  # footer + its row group, not the file


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_partition_keys_on_s3_match_the_local_files(ws, s3, bucket, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    pd.DataFrame({"store": ["a", "b", "a"], "day": [1, 1, 2], "x": [1, 2, 3]}).to_csv(folder / "p1.csv", index=False)
    pd.DataFrame({"store": ["b", "a"], "day": [1, 2], "x": [4, 5]}).to_csv(folder / "p2.csv", index=False)
    for path in sorted(folder.iterdir()):
        s3.put_object(Bucket=bucket, Key=f"ws/parts/{path.name}", Body=path.read_bytes())
    here = manifest.build("tabular", [str(p) for p in sorted(folder.iterdir())], None, ["store", "day"])
    there = manifest.build("tabular", _s3_entries(ws, "parts"), None, ["store", "day"])
    assert [b["partition_key_value"] for b in there] == [b["partition_key_value"] for b in here]
    for mine, theirs in zip(there, here):
        pd.testing.assert_frame_equal(manifest.load(mine), manifest.load(theirs))


def test_file_mini_batch_is_fetched_for_its_run_only_and_a_changed_object_fails_it(ws, s3, bucket, proxy):
    for i in range(6):
        s3.put_object(Bucket=bucket, Key=f"ws/files/sub/f{i}.txt", Body=str(i * i).encode())
    s3.put_object(Bucket=bucket, Key="ws/other/x.txt", Body=b"not listed")
    batches = manifest.build("file", _s3_entries(ws, "files/**/*.txt"), 4)
    assert [[e["name"] for e in b["files"]] for b in batches] == [
        ["sub/f0.txt", "sub/f1.txt", "sub/f2.txt", "sub/f3.txt"], ["sub/f4.txt", "sub/f5.txt"]]
    proxy.log.clear()
    with loader.mini_batch_data(batches[1]) as paths:
        assert [open(p).read() for p in paths] == ["16", "25"]
        folder = os.path.dirname(os.path.dirname(paths[0]))
        assert sorted(os.listdir(os.path.join(folder, "sub"))) == ["f4.txt", "f5.txt"]  # this mini-batch only
    assert not os.path.exists(folder)  # removed after the mini-batch
    assert _object_gets(proxy) == Counter({"ws/files/sub/f4.txt": 1, "ws/files/sub/f5.txt": 1})

    s3.put_object(Bucket=bucket, Key="ws/files/sub/f0.txt", Body=b"changed after listing")
    with pytest.raises(ObjectChangedError) as caught, loader.mini_batch_data(batches[0]):
        pass
    message = str(caught.value)
    assert f"s3://{bucket}/ws/files/sub/f0.txt changed after the step listed it" in message
    assert batches[0]["files"][0]["etag"] in message
    assert not any(Path(tempfile_dir(), "aml-bridge-scratch").glob(f"mb0-{os.getpid()}-*"))


def test_tabular_chunk_of_a_changed_object_fails(ws, s3, bucket, tmp_path):
    _tables(tmp_path, s3, bucket)
    batches = manifest.build("tabular", _s3_entries(ws, "tables/a.csv"), 1500)
    s3.put_object(Bucket=bucket, Key="ws/tables/a.csv", Body=b"id,x,name\n1,2,z\n")
    with pytest.raises(ObjectChangedError, match="a.csv changed after the step listed it"):
        manifest.load(batches[0])


def test_versioned_bucket_reads_the_listed_version(ws, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="ws/v/a.txt", Body=b"first")
    s3.put_object(Bucket=bucket, Key="ws/v/gone.txt", Body=b"deleted before listing")
    s3.delete_object(Bucket=bucket, Key="ws/v/gone.txt")
    entries = _s3_entries(ws, "v")
    assert [e["name"] for e in entries] == ["a.txt"] and entries[0]["version"]
    s3.put_object(Bucket=bucket, Key="ws/v/a.txt", Body=b"second")  # a new version after the listing
    with loader.mini_batch_data({"id": 0, "files": entries}) as paths:
        assert open(paths[0]).read() == "first"


def test_large_object_is_fetched_in_parallel_pinned_parts(make_s3_ws, s3, bucket, proxy, monkeypatch):
    ws = make_s3_ws(bucket, datastores={"workspaceblobstore": s3_store(
        proxy.url, bucket, "ws", multipart_threshold_mb=1, multipart_chunksize_mb=1)})
    monkeypatch.setenv("AML_BRIDGE_CONFIG", ws.config.config_path)
    monkeypatch.setenv("AML_BRIDGE_HOME", ws.config.home)
    body = os.urandom((5 << 20) + 123)
    s3.put_object(Bucket=bucket, Key="ws/large/blob.bin", Body=body)
    (entry,) = _s3_entries(ws, "large")
    proxy.log.clear()
    with loader.mini_batch_data({"id": 0, "files": [entry]}) as paths:
        assert open(paths[0], "rb").read() == body
    ranges = sorted(r for m, p, r in proxy.log if m == "GET" and p.endswith("blob.bin"))
    assert len(ranges) == 6 and f"bytes={5 << 20}-{len(body) - 1}" in ranges  # 1 MiB parts

    s3.put_object(Bucket=bucket, Key="ws/large/blob.bin", Body=body[::-1])
    with pytest.raises(ObjectChangedError), loader.mini_batch_data({"id": 0, "files": [entry]}):
        pass


def test_mini_batch_fetch_and_chunk_reads_survive_injected_faults(make_s3_ws, s3, bucket, s3_endpoint, tmp_path,
                                                                  monkeypatch):
    local = _tables(tmp_path, s3, bucket)
    for i in range(8):
        s3.put_object(Bucket=bucket, Key=f"ws/files/f{i}.txt", Body=str(i).encode())
    with FaultProxy(s3_endpoint, rate=0.3, only_methods=("GET",)) as faulty:
        ws = make_s3_ws(bucket, datastores={"workspaceblobstore": s3_store(faulty.url, bucket, "ws")})
        monkeypatch.setenv("AML_BRIDGE_CONFIG", ws.config.config_path)
        monkeypatch.setenv("AML_BRIDGE_HOME", ws.config.home)
        (batch,) = manifest.build("file", _s3_entries(ws, "files"), 8)
        with loader.mini_batch_data(batch) as paths:
            assert [open(p).read() for p in paths] == [str(i) for i in range(8)]
        there = manifest.build("tabular", _s3_entries(ws, "tables/a.csv"), 1500)
        joined = pd.concat([manifest.load(b) for b in there], ignore_index=True)
        assert sum(faulty.counts.values()) > 5  # botocore's retries absorbed them
    pd.testing.assert_frame_equal(joined, pd.read_csv(local / "a.csv"))
