"""The versioned dataset registry, kept as JSON on the default datastore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aml_bridge.data import Dataset, TabularDataset, default_datastore, list_datasets
from aml_bridge.errors import UserErrorException


@pytest.fixture
def store(ws, files):
    datastore = default_datastore(ws)
    datastore.upload(str(files), target_path="raw", show_progress=False)
    return datastore


def test_register_and_get_by_name(ws, store) -> None:
    table = Dataset.Tabular.from_delimited_files((store, "raw/a.csv"))
    registered = table.register(ws, "iris", description="flowers", tags={"k": "v"})
    assert (registered.name, registered.version, registered.description, registered.tags) == (
        "iris", 1, "flowers", {"k": "v"})
    loaded = Dataset.get_by_name(ws, "iris")
    assert isinstance(loaded, TabularDataset) and loaded.id == registered.id
    assert loaded.to_pandas_dataframe()["x"].tolist() == [1, 2]


def test_registry_files_live_on_the_default_datastore(ws, store) -> None:
    Dataset.File.from_files((store, "raw")).register(ws, "files")
    root = Path(store.backend.local_path(".aml_bridge/datasets"))
    record = json.loads((root / "files" / "1.json").read_text())
    assert record["definition"]["sources"] == [{"datastore": "workspaceblobstore", "path": "raw"}]
    assert (root / "_ids" / f"{record['id']}.json").is_file()


def test_versions_and_latest(ws, store) -> None:
    first = Dataset.File.from_files((store, "raw/a.csv")).register(ws, "d")
    second = Dataset.File.from_files((store, "raw/b.csv")).register(ws, "d", create_new_version=True)
    assert (first.version, second.version) == (1, 2) and first.id != second.id
    assert Dataset.get_by_name(ws, "d").version == 2
    assert Dataset.get_by_name(ws, "d", version=1).to_path() == ["/a.csv"]
    assert Dataset.get_by_name(ws, "d", version="2").to_path() == ["/b.csv"]
    assert Dataset.get_by_id(ws, first.id).version == 1


def test_re_registering_the_same_definition_is_idempotent(ws, store) -> None:
    dataset = Dataset.File.from_files((store, "raw/a.csv"))
    assert dataset.register(ws, "same").version == dataset.register(ws, "same").version == 1


def test_a_different_definition_needs_create_new_version(ws, store) -> None:
    Dataset.File.from_files((store, "raw/a.csv")).register(ws, "d")
    with pytest.raises(UserErrorException, match="create_new_version=True"):
        Dataset.File.from_files((store, "raw/b.csv")).register(ws, "d")


def test_missing_names_versions_and_ids_raise(ws, store) -> None:
    with pytest.raises(UserErrorException, match='Cannot find dataset registered with name "nope"'):
        Dataset.get_by_name(ws, "nope")
    Dataset.File.from_files((store, "raw/a.csv")).register(ws, "d")
    with pytest.raises(UserErrorException, match=r"\(version: 7\)"):
        Dataset.get_by_name(ws, "d", version=7)
    with pytest.raises(UserErrorException, match="Cannot find dataset with id"):
        Dataset.get_by_id(ws, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(UserErrorException, match="Invalid dataset name"):
        Dataset.File.from_files((store, "raw/a.csv")).register(ws, "a/b")


def test_listing_gives_the_latest_version_of_each_name(ws, store) -> None:
    Dataset.File.from_files((store, "raw/a.csv")).register(ws, "one")
    Dataset.File.from_files((store, "raw/b.csv")).register(ws, "two")
    Dataset.File.from_files((store, "raw/sub")).register(ws, "two", create_new_version=True)
    listed = list_datasets(ws)
    assert {n: d.version for n, d in listed.items()} == {"one": 1, "two": 2}
    assert set(Dataset.get_all(ws)) == {"one", "two"}


def test_unregistered_definitions_can_be_saved_and_found_by_id(ws, store) -> None:
    dataset = Dataset.File.from_files((store, "raw/a.csv"))
    with pytest.raises(UserErrorException):
        Dataset.get_by_id(ws, dataset.id)
    assert dataset._ensure_saved(ws) == dataset.id
    found = Dataset.get_by_id(ws, dataset.id)
    assert found.id == dataset.id and found.name is None and found.to_path() == ["/a.csv"]


def test_registry_follows_a_configured_default_datastore(tmp_path, files, make_ws) -> None:
    ws = make_ws(tmp_path / "home", default_datastore="lake",
                 datastores={"lake": {"type": "local", "path": str(tmp_path / "lake")}})
    Dataset.File.from_files(str(files / "a.csv")).register(ws, "local")
    assert (tmp_path / "lake" / ".aml_bridge" / "datasets" / "local" / "1.json").is_file()
