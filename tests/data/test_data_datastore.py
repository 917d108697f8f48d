"""Datastores on the local folder backend: default store, registration, upload/download, references."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aml_bridge.data import (
    DataPath,
    DataPathComputeBinding,
    DataReference,
    Datastore,
    DatastoreBackend,
    LocalFolderBackend,
    default_datastore,
    registered_datastores,
)
from aml_bridge.errors import UserErrorException


def test_default_datastore_is_workspaceblobstore_under_home(ws) -> None:
    store = default_datastore(ws)
    assert store.name == "workspaceblobstore" and store.datastore_type == "AzureBlob"
    assert store.backend.local_path("") == str(Path(ws.config.home) / "datastores" / "workspaceblobstore")
    assert Datastore(ws).name == Datastore.get_default(ws).name == "workspaceblobstore"
    assert isinstance(store.backend, DatastoreBackend)


def test_unknown_datastore_raises(ws) -> None:
    with pytest.raises(UserErrorException, match="Datastore 'nope' not found"):
        Datastore.get(ws, "nope")


def test_upload_download_round_trip(ws, files, tmp_path, capsys) -> None:
    store = default_datastore(ws)
    ref = store.upload(str(files), target_path="raw", show_progress=True)
    assert isinstance(ref, DataReference) and ref.path_on_datastore == "raw"
    assert "Uploaded 4 files" in capsys.readouterr().out
    assert store.backend.list("raw") == ["raw/a.csv", "raw/b.csv", "raw/notes.txt", "raw/sub/c.csv"]
    (files / "a.csv").write_text("changed\n")
    store.upload(str(files), target_path="raw", show_progress=False)
    assert (Path(store.backend.local_path("raw/a.csv"))).read_text() == "x,y\n1,a\n2,b\n"
    store.upload(str(files), target_path="raw", overwrite=True, show_progress=False)
    assert (Path(store.backend.local_path("raw/a.csv"))).read_text() == "changed\n"
    count = store.download(str(tmp_path / "out"), prefix="raw/sub", show_progress=False)
    assert count == 1 and (tmp_path / "out" / "raw" / "sub" / "c.csv").read_text() == "x,y\n4,d\n"
    assert store.download(str(tmp_path / "out"), prefix="raw", show_progress=False) == 3  # existing skipped


def test_upload_files_relative_root_and_target(ws, files) -> None:
    store = default_datastore(ws)
    store.upload_files([str(files / "a.csv"), str(files / "sub" / "c.csv")], target_path="t", show_progress=False)
    assert store.backend.list("t") == ["t/a.csv", "t/sub/c.csv"]
    store.upload_files([str(files / "sub" / "c.csv")], relative_root=str(files), target_path="u",
                       show_progress=False)
    assert store.backend.list("u") == ["u/sub/c.csv"]
    store.upload_files([str(files / "b.csv")], show_progress=False)
    assert store.backend.exists("b.csv")
    with pytest.raises(UserErrorException, match="is not part of the file_path"):
        store.upload_files([str(files / "a.csv")], relative_root=str(files / "sub"), show_progress=False)
    with pytest.raises(UserErrorException, match="does not point to a file"):
        store.upload_files([str(files / "missing.csv")], show_progress=False)


def test_register_blob_container_records_name_without_secrets(ws) -> None:
    store = Datastore.register_azure_blob_container(ws, "samples", container_name="c", account_name="pipelinedata",
                                                    account_key="SECRET")
    assert (store.name, store.container_name, store.account_name) == ("samples", "c", "pipelinedata")
    assert store.backend.local_path("") == str(Path(ws.config.home) / "datastores" / "samples")
    record = Path(default_datastore(ws).backend.local_path(".aml_bridge/datastores/samples.json")).read_text()
    assert "SECRET" not in record and "pipelinedata" in record
    assert Datastore(ws, "samples").account_name == "pipelinedata"
    share = Datastore.register_azure_file_share(ws, "share", "fs", "acct")
    lake = Datastore.register_azure_data_lake_gen2(ws, "lake", "fsys", "acct", client_secret="S")
    assert (share.datastore_type, lake.datastore_type) == ("AzureFile", "AzureDataLakeGen2")
    assert set(registered_datastores(ws)) == {"workspaceblobstore", "workspacefilestore", "samples", "share", "lake"}
    lake.unregister()
    assert "lake" not in registered_datastores(ws)


def test_config_maps_a_registered_name_to_a_local_folder(tmp_path, files, make_ws) -> None:
    ws = make_ws(tmp_path / "home", datastores={"samples": {"type": "local", "path": "fixtures"}})
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "titanic.csv").write_text("a\n1\n")
    store = Datastore.register_azure_blob_container(ws, "samples", "c", "pipelinedata")
    assert store.backend.local_path("titanic.csv") == str(tmp_path / "fixtures" / "titanic.csv")
    assert store.backend.exists("titanic.csv")
    assert "samples" in registered_datastores(ws)


def test_config_can_move_the_default_datastore(tmp_path, make_ws) -> None:
    ws = make_ws(tmp_path / "home", default_datastore="lake",
                 datastores={"lake": {"type": "local", "path": str(tmp_path / "lake")}})
    assert default_datastore(ws).name == "lake"
    assert default_datastore(ws).backend.local_path("") == str(tmp_path / "lake")


def test_unsupported_backend_type_is_named(tmp_path, make_ws) -> None:
    ws = make_ws(tmp_path / "home", datastores={"gcs": {"type": "gcs", "bucket": "b"}})
    with pytest.raises(UserErrorException, match="type 'gcs'; installed backends: \\['local', 's3'\\]"):
        Datastore(ws, "gcs")


def test_path_and_references(ws) -> None:
    store = default_datastore(ws)
    ref = store.path("data/train")
    assert (ref.path_on_datastore, ref.mode, ref.datastore is store) == ("data/train", "mount", True)
    assert ref.data_reference_name == store.path("data/train").data_reference_name  # stable name
    assert str(ref) == f"$AZUREML_DATAREFERENCE_{ref.data_reference_name}"
    assert store.as_mount().data_reference_name == "workspaceblobstore"
    download = store.path("x", data_reference_name="named").as_download(path_on_compute="here")
    assert (download.mode, download.path_on_compute, str(download)) == ("download", "here",
                                                                        "$AZUREML_DATAREFERENCE_named")
    assert ref.path("sub").path_on_datastore == "data/train/sub"
    with pytest.raises(UserErrorException, match="Invalid mode"):
        DataReference(store, mode="stream")


def test_datapath_and_binding(ws) -> None:
    store = default_datastore(ws)
    path = DataPath(store, "raw/2024")
    assert (path.datastore_name, path.path_on_datastore) == ("workspaceblobstore", "raw/2024")
    ref = path.create_data_reference("r", DataPathComputeBinding(mode="download", path_on_compute="p"))
    assert (ref.data_reference_name, ref.mode, ref.path_on_compute, ref.path_on_datastore) == (
        "r", "download", "p", "raw/2024")
    assert DataPath.create_from_data_reference(ref) == path
    assert DataPathComputeBinding.create_from_data_reference(ref)._mode == "download"
    assert (path.as_mount().mode, path.as_mount().path_on_datastore) == ("mount", "raw/2024")
    assert (path.as_download("here").mode, path.as_download("here").path_on_compute) == ("download", "here")
    with pytest.raises(ValueError, match="datastore parameter is required"):
        DataPath()


def test_local_backend_primitives(tmp_path) -> None:
    backend = LocalFolderBackend(tmp_path / "store")
    with backend.open("a/b.txt", "wb") as handle:
        handle.write(b"one")
    with pytest.raises(FileExistsError):
        backend.open("a/b.txt", "xb")
    assert backend.list("") == ["a/b.txt"] and backend.list("a/b.txt") == ["a/b.txt"]
    assert backend.uri("a").startswith("file://")
    first = backend.content_id("a")
    with backend.open("a/b.txt", "wb") as handle:
        handle.write(b"two")
    assert backend.content_id("a") != first
    with pytest.raises(UserErrorException, match="escapes the datastore root"):
        backend.exists("../outside")
    backend.delete("a/b.txt")
    assert not backend.exists("a") and os.path.isdir(tmp_path / "store" / "a")
