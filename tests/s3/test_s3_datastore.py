"""Datastores on S3 (moto server mode over HTTP): configuration, registration, upload/download."""

from __future__ import annotations

import json

import pytest

from aml_bridge.data import Datastore, DatastoreBackend
from aml_bridge.data.s3_backend import S3Backend
from aml_bridge.errors import UserErrorException
from tests.support.s3_endpoint import keys


def test_config_file_puts_default_datastore_on_s3(make_s3_ws, bucket, s3) -> None:
    ws = make_s3_ws(bucket, prefix="team/ws")
    store = ws.get_default_datastore()
    assert store.name == "workspaceblobstore" and isinstance(store.backend, S3Backend)
    assert isinstance(store.backend, DatastoreBackend)
    assert store.backend.uri("a/b.csv") == f"s3://{bucket}/team/ws/a/b.csv"
    assert json.loads(repr(store))["location"] == f"s3://{bucket}/team/ws"
    assert store.backend.local_path("x") is None  # no mount on S3: steps download / upload
    assert set(ws.datastores) >= {"workspaceblobstore", "workspacefilestore"}


def test_upload_download_round_trip(make_s3_ws, bucket, s3, files, tmp_path, capsys) -> None:
    store = make_s3_ws(bucket).get_default_datastore()
    ref = store.upload(str(files), target_path="raw", show_progress=True)
    assert ref.path_on_datastore == "raw" and "Uploaded 4 files" in capsys.readouterr().out
    assert keys(s3, bucket) == ["ws/raw/a.csv", "ws/raw/b.csv", "ws/raw/notes.txt", "ws/raw/sub/c.csv"]
    (files / "a.csv").write_text("changed\n")
    store.upload(str(files), target_path="raw", show_progress=True)
    assert "Target already exists. Skipping upload for raw/a.csv" in capsys.readouterr().out
    assert s3.get_object(Bucket=bucket, Key="ws/raw/a.csv")["Body"].read() == b"x,y\n1,a\n2,b\n"
    store.upload(str(files), target_path="raw", overwrite=True, show_progress=False)
    assert s3.get_object(Bucket=bucket, Key="ws/raw/a.csv")["Body"].read() == b"changed\n"
    assert store.download(str(tmp_path / "out"), prefix="raw/sub", show_progress=False) == 1
    assert (tmp_path / "out" / "raw" / "sub" / "c.csv").read_text() == "x,y\n4,d\n"
    assert store.download(str(tmp_path / "out"), prefix="raw", show_progress=False) == 3  # existing skipped
    store.upload_files([str(files / "b.csv")], target_path="single", show_progress=False)
    assert store.backend.list("single") == ["single/b.csv"]
    # A prefix names a folder, not a string prefix: "raw/sub" does not match "raw/subway".
    s3.put_object(Bucket=bucket, Key="ws/raw/subway.txt", Body=b"no")
    assert store.backend.list("raw/sub") == ["raw/sub/c.csv"]


def test_register_s3_records_no_credentials_and_resolves(make_s3_ws, bucket, s3, s3_endpoint) -> None:
    ws = make_s3_ws(bucket)
    other = f"{bucket}-other"
    s3.create_bucket(Bucket=other)
    store = Datastore.register_s3(ws, "lake", bucket=other, prefix="p", endpoint_url=s3_endpoint,
                                  region="us-east-1", max_concurrency=4)
    assert (store.datastore_type, store.container_name) == ("S3", other)
    record = s3.get_object(Bucket=bucket, Key="ws/.aml_bridge/datastores/lake.json")["Body"].read().decode()
    assert json.loads(record)["bucket"] == other and "secret" not in record.lower()
    assert Datastore.get(ws, "lake").backend.settings.max_concurrency == 4
    assert "lake" in ws.datastores
    with pytest.raises(UserErrorException, match="does not take credentials"):
        Datastore.register_s3(ws, "bad", bucket=other, aws_secret_access_key="x")
    with pytest.raises(UserErrorException, match="bucket must not be empty"):
        Datastore.register_s3(ws, "bad", bucket="")


def test_registry_files_create_only_on_s3(make_s3_ws, bucket) -> None:
    backend = make_s3_ws(bucket).get_default_datastore().backend
    with backend.open("r/1.json", "xb") as handle:
        handle.write(b"{}")
    with pytest.raises(FileExistsError), backend.open("r/1.json", "xb") as handle:
        handle.write(b"{}")
    with pytest.raises(RuntimeError), backend.open("r/2.json", "wb") as handle:
        handle.write(b"half")
        raise RuntimeError("writer failed")
    assert backend.list("r") == ["r/1.json"]  # a failed write puts nothing


def test_content_id_follows_etags_and_versions(make_s3_ws, bucket, s3) -> None:
    backend = make_s3_ws(bucket).get_default_datastore().backend
    s3.put_object(Bucket=bucket, Key="ws/in/a.txt", Body=b"one")
    first = backend.content_id("in")
    assert backend.content_id("in") == first and first.startswith("s3etag:")
    s3.put_object(Bucket=bucket, Key="ws/in/a.txt", Body=b"two")
    second = backend.content_id("in")
    assert second != first
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    versioned = make_s3_ws(bucket).get_default_datastore().backend  # a new process would see it fresh
    before = versioned.content_id("in")
    s3.put_object(Bucket=bucket, Key="ws/in/a.txt", Body=b"two")  # same bytes and ETag, new VersionId
    assert versioned.content_id("in") != before


def test_unreachable_endpoint_is_a_clear_error(make_s3_ws, bucket, tmp_path) -> None:
    ws = make_s3_ws(bucket, datastores={"gone": {"type": "s3", "bucket": bucket,
                                                 "endpoint_url": "http://127.0.0.1:9", "max_attempts": 2}})
    with pytest.raises(UserErrorException, match=r"S3 datastore 'gone': listing s3://.* failed after retries"):
        Datastore(ws, "gone").download(str(tmp_path), prefix="x")
