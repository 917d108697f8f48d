"""Where S3 credentials come from: an Airflow connection (through `aml_storage_credentials`), a file
handed to a step process, or boto3's standard chain — and that none of them lands in a record."""

from __future__ import annotations

import json
import os
import stat

import pytest

from aml_bridge import hookimpl, plugins
from aml_bridge.data import Datastore
from aml_bridge.data.s3_credentials import connection_credentials, handed_down
from aml_bridge.errors import UserErrorException
from tests.support.s3_endpoint import ACCESS_KEY_ID, SECRET


def test_hook_aml_storage_credentials(make_s3_ws, bucket, s3_endpoint, monkeypatch) -> None:
    """The Airflow plugin turns an `aws` connection into boto3 credentials, endpoint included."""
    conn = {"conn_type": "aws", "login": "AKIACONNFROMAIRFLOW", "password": "conn-secret",
            "extra": {"endpoint_url": s3_endpoint, "region_name": "eu-west-1"}}
    monkeypatch.setenv("AIRFLOW_CONN_S3_FROM_AIRFLOW", json.dumps(conn))
    ws = make_s3_ws(bucket)
    found = plugins.hooks.aml_storage_credentials(workspace=ws.config, connection_id="s3_from_airflow")
    assert found == {"aws_access_key_id": "AKIACONNFROMAIRFLOW", "aws_secret_access_key": "conn-secret",
                     "region_name": "eu-west-1", "endpoint_url": s3_endpoint}
    assert plugins.hooks.aml_storage_credentials(workspace=ws.config, connection_id="nope") is None

    store = Datastore.register_s3(ws, "via_conn", bucket=bucket, connection_id="s3_from_airflow")
    assert store.backend.client._get_credentials().access_key == "AKIACONNFROMAIRFLOW"
    assert store.backend.client.meta.endpoint_url == s3_endpoint  # from the connection's extra
    store.upload_files([__file__], target_path="code", show_progress=False)
    assert store.backend.list("code") == ["code/test_s3_credentials.py"]


def test_standard_chain_without_connection(make_s3_ws, bucket) -> None:
    backend = make_s3_ws(bucket).get_default_datastore().backend
    credentials = backend.client._get_credentials()
    assert (credentials.access_key, credentials.method) == (ACCESS_KEY_ID, "shared-credentials-file")


def test_unknown_connection_is_a_clear_error(make_s3_ws, bucket) -> None:
    ws = make_s3_ws(bucket)
    with pytest.raises(UserErrorException, match="Connection 'missing_conn' for an S3 datastore was not found"):
        connection_credentials(ws.config, "missing_conn")


def test_handed_down_file_is_private_and_removed(make_s3_ws, bucket) -> None:
    class Vault:
        @hookimpl
        def aml_storage_credentials(self, workspace, connection_id):
            return {"aws_access_key_id": "AKIAVAULT", "aws_secret_access_key": SECRET}

    ws = make_s3_ws(bucket)
    vault = Vault()
    manager = plugins.get_plugin_manager()
    manager.register(vault)
    try:
        with handed_down(ws.config, ["vaulted"]) as env:
            path = env["AML_BRIDGE_S3_CREDENTIALS"]
            assert SECRET not in json.dumps(env)  # the environment carries only the path
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert json.load(open(path))["vaulted"]["aws_access_key_id"] == "AKIAVAULT"
        assert not os.path.exists(path)
    finally:
        manager.unregister(vault)
