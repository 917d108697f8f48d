"""S3 tests: one moto server (server mode, 127.0.0.1) per session; credentials through the standard
chain (a shared credentials file, so the secret is in no environment variable); a bucket per test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from aml_bridge import Workspace, settings
from tests.support.s3_endpoint import SECRET, s3_store, start_moto_server, stop_process, write_aws_files


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    url, proc = start_moto_server(tmp_path_factory.mktemp("moto"))
    yield url
    stop_process(proc)


@pytest.fixture(scope="session")
def aws_files(tmp_path_factory) -> dict[str, str]:
    return write_aws_files(tmp_path_factory.mktemp("aws"), SECRET)


@pytest.fixture(autouse=True)
def _aws_chain(aws_files, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_files.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3(s3_endpoint) -> Any:
    """A plain boto3 client on the moto server, for arranging and checking bucket contents."""
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3) -> str:
    name = f"t-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_s3_ws(tmp_path, s3_endpoint) -> Callable[..., Workspace]:
    """A workspace whose config file puts `workspaceblobstore` (and `extra` stores) on S3."""

    def make(bucket: str, prefix: str = "ws", datastores: dict[str, Any] | None = None, **values: Any) -> Workspace:
        home = tmp_path / f"home-{uuid.uuid4().hex[:6]}"
        file_values = {"home": str(home),
                       "datastores": {"workspaceblobstore": s3_store(s3_endpoint, bucket, prefix),
                                      **(datastores or {})}, **values}
        config_path = tmp_path / f"aml-bridge-{home.name}.json"
        config_path.write_text(json.dumps(file_values))
        return Workspace(config=settings.resolve(file_values, config_path))

    return make


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A local folder: a.csv, b.csv, sub/c.csv, notes.txt."""
    folder = tmp_path / "files"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,a\n2,b\n")
    (folder / "b.csv").write_text("x,y\n3,c\n")
    (folder / "sub" / "c.csv").write_text("x,y\n4,d\n")
    (folder / "notes.txt").write_text("hello\n")
    return folder

