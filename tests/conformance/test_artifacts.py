"""AML_API §7 items 41–47: artifacts, outputs, downloads, model registration, secrets."""

from __future__ import annotations

import os

import pytest

from aml_bridge import Model, ModelPathNotFoundException
from aml_bridge.errors import AzureMLAggregatedException, UserErrorException


@pytest.fixture
def run(exp):
    return exp.start_logging(snapshot_directory=None)


def _write(path, text="x"):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def test_item41_upload_file_and_conflict(run):
    _write("local.txt", "hello")
    run.upload_file("a/b.txt", "local.txt")
    assert "a/b.txt" in run.get_file_names()
    with pytest.raises(AzureMLAggregatedException, match="Resource Conflict: ArtifactId .*a/b.txt already exists"):
        run.upload_file("a/b.txt", "local.txt")


def test_item42_upload_files_length_mismatch(run):
    with pytest.raises(TypeError):
        run.upload_files(["x"], ["p1", "p2"])


def test_item43_upload_folder(run):
    _write("src/f.txt")
    _write("src/sub/g.txt")
    run.upload_folder("dst", "src")
    assert {"dst/f.txt", "dst/sub/g.txt"} <= set(run.get_file_names())
    with pytest.raises(UserErrorException):
        run.upload_folder("dst2", "local-missing")


def test_item44_outputs_uploaded_on_complete(run):
    _write("outputs/model/weights.bin", "w")
    _write("outputs/metrics.json", "{}")
    assert not any(n.startswith("outputs/") for n in run.get_file_names())
    run.complete()
    assert {"outputs/model/weights.bin", "outputs/metrics.json"} <= set(run.get_file_names())


def test_item45_downloads(run, tmp_path):
    _write("local.txt", "payload")
    run.upload_file("a/b.txt", "local.txt")
    _write("outputs/x/y.txt", "deep")
    run.complete()
    os.remove("local.txt")
    run.download_file("a/b.txt")
    assert open("b.txt").read() == "payload"
    run.download_files(prefix="outputs", output_directory="d")
    assert open("d/outputs/x/y.txt").read() == "deep"
    run.download_files(prefix="outputs", output_directory="e", append_prefix=False)
    assert open("e/x/y.txt").read() == "deep"


def test_item46_register_model(run, ws):
    with pytest.raises(ModelPathNotFoundException):
        run.register_model("m", model_path="outputs/missing.pkl")
    _write("outputs/model.pkl", "pickle")
    run.complete()
    model = run.register_model("m", model_path="./outputs/model.pkl", tags={"t": 1}, properties={"p": "v"})
    assert model.version >= 1 and model.run_id == run._backend_id
    again = run.register_model("m", model_path="outputs/model.pkl")
    assert again.version == model.version + 1
    assert Model(ws, "m").version == again.version
    path = Model.get_model_path("m", version=model.version, _workspace=ws)
    assert os.path.isfile(path) and open(path).read() == "pickle"
    assert Model.list(ws, name="m", tags=[["t", "1"]])[0].version == model.version
    assert Model(ws, "m", version=1).properties == {"p": "v"}


def test_item47_secrets(run, monkeypatch):
    monkeypatch.setenv("EXISTS", "s3cret")
    assert run.get_secrets(["EXISTS", "nope"]) == {"EXISTS": "s3cret", "nope": None}
    assert run.get_secret("EXISTS") == "s3cret"
    with pytest.raises(UserErrorException):
        run.get_secret("nope")


def test_register_folder_and_local_model(run, ws):
    _write("models/a.txt", "A")
    _write("models/b/c.txt", "C")
    run.upload_folder("models", "models")
    folder_model = run.register_model("folder-model", model_path="models")
    path = Model.get_model_path("folder-model", _workspace=ws)
    assert os.path.isdir(path) and open(os.path.join(path, "b", "c.txt")).read() == "C"
    assert folder_model.version == 1
    _write("here/model.pkl", "local")
    local = Model.register(ws, model_path="here/model.pkl", model_name="local-model", properties={"k": "v"})
    local.add_tags({"stage": "prod"})
    assert Model(ws, "local-model").tags == {"stage": "prod"}
    path = Model.get_model_path("local-model", _workspace=ws)
    assert open(path).read() == "local"
    with pytest.raises(UserErrorException):
        local.add_properties({"k": "changed"})


def test_snapshot_roundtrip(exp):
    _write("proj/train.py", "print(1)")
    _write("proj/.amlignore", "ignored/\n")
    _write("proj/ignored/big.bin", "zzz")
    run = exp.start_logging(snapshot_directory="proj")
    import zipfile

    archive = run.restore_snapshot(path=".")
    names = zipfile.ZipFile(archive).namelist()
    assert "train.py" in names and ".amlignore" in names
    assert not any(n.startswith("ignored") for n in names)
    from aml_bridge.errors import SnapshotException

    with pytest.raises(SnapshotException):
        run.take_snapshot("proj")
