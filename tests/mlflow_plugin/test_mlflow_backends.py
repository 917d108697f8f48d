"""End-to-end hook scenarios run twice: on a SQLite store and on a real `mlflow server` over HTTP.

The HTTP leg is what proves the plugin never relies on local paths or on MLflow's
process-global tracking URI (REST store, `mlflow-artifacts:` proxied artifacts, registry).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from aml_bridge.records import ARTIFACT, ROW, Metric
from aml_bridge.settings import WorkspaceConfig


@pytest.fixture(params=["sqlite", "http"])
def ws(request: pytest.FixtureRequest) -> WorkspaceConfig:
    return request.getfixturevalue(f"{request.param}_ws")


def new_run(hooks: Any, ws: WorkspaceConfig, experiment: str, **tags: str) -> Any:
    return hooks.aml_start_run(workspace=ws, experiment_name=experiment, parent_run_id=None,
                               run_name=None, tags=tags)


def test_journal_round_trip(hooks: Any, ws: WorkspaceConfig, unique: str) -> None:
    run = new_run(hooks, ws, unique)
    t = time.time()
    first = [Metric("loss", 0.5, None, t), Metric("count", 2**64 + 1, None, t + 1),
             Metric("ok", False, None, t + 2), Metric("label", "cat", 4, t + 3), Metric("nothing", None, None, t + 4),
             Metric("rows", {"a": 1, "b": "x"}, None, t + 5, ROW),
             Metric("plot", "aml://artifactId/ExperimentRun/dcid.r/plot.png", None, t + 6, ARTIFACT)]
    second = [Metric("loss", 0.25, None, t + 0.5), Metric("rows", {"c": [1, 2]}, None, t + 7, ROW)]
    hooks.aml_log_batch(workspace=ws, run_id=run.run_id, metrics=first, tags={}, properties={})
    hooks.aml_log_batch(workspace=ws, run_id=run.run_id, metrics=second, tags={}, properties={})

    got = hooks.aml_read_metrics(workspace=ws, run_id=run.run_id)
    expected = sorted(first + second, key=lambda m: m.time)
    assert got == expected
    assert [type(m.value) for m in got] == [type(m.value) for m in expected]

    hooks.aml_set_status(workspace=ws, run_id=run.run_id, status="Completed", error=None)
    record = hooks.aml_read_run(workspace=ws, run_id=run.run_id)
    assert record.status == "Completed"
    assert json.loads(record.tags["mlflow.loggedArtifacts"]) == [{"path": "tables/rows.json", "type": "table"}]


def test_artifacts(hooks: Any, ws: WorkspaceConfig, unique: str, tmp_path: Path) -> None:
    run = new_run(hooks, ws, unique)
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("A")
    (source / "sub" / "b.txt").write_text("B")
    single = tmp_path / "whatever.log"
    single.write_text("log")

    assert hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(source), artifact_path="outputs")
    assert hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(single),
                                  artifact_path="logs/driver.txt")
    assert hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix="") == [
        "logs/driver.txt", "outputs/a.txt", "outputs/sub/b.txt"]
    assert hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix="outputs/sub") == ["outputs/sub/b.txt"]
    assert hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix="logs/driver.txt") == ["logs/driver.txt"]

    one = hooks.aml_download_artifact(workspace=ws, run_id=run.run_id, artifact_path="logs/driver.txt",
                                      dst_dir=str(tmp_path / "d1"))
    assert Path(one).name == "driver.txt" and Path(one).read_text() == "log"
    folder = hooks.aml_download_artifact(workspace=ws, run_id=run.run_id, artifact_path="outputs",
                                         dst_dir=str(tmp_path / "d2"))
    assert (Path(folder) / "sub" / "b.txt").read_text() == "B"


def test_model_registry_from_local_path(hooks: Any, ws: WorkspaceConfig, unique: str, tmp_path: Path) -> None:
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(b"\x00weights")
    model_dir = tmp_path / "tf_model"
    (model_dir / "variables").mkdir(parents=True)
    (model_dir / "saved_model.pb").write_bytes(b"pb")
    (model_dir / "variables" / "v.idx").write_bytes(b"idx")

    v1 = hooks.aml_register_model(workspace=ws, name=unique, run_id=None, artifact_path=None,
                                  local_path=str(model_file), tags={"fw": "sklearn"}, description="file")
    v2 = hooks.aml_register_model(workspace=ws, name=unique, run_id=None, artifact_path=None,
                                  local_path=str(model_dir), tags={}, description=None)
    assert (v1.version, v2.version) == (1, 2)
    assert v1.tags["fw"] == "sklearn" and v1.description == "file" and v1.run_id is None
    found = hooks.aml_search_models(workspace=ws, name=unique, version=None, run_id=None)
    assert [m.version for m in found] == [2, 1]

    model_file.unlink()  # registered copies live in MLflow's storage, not at the local path
    got_file = Path(hooks.aml_download_model(workspace=ws, name=unique, version=1, dst_dir=str(tmp_path / "m1")))
    assert got_file.name == "model.pkl" and got_file.read_bytes() == b"\x00weights"
    got_dir = Path(hooks.aml_download_model(workspace=ws, name=unique, version=2, dst_dir=str(tmp_path / "m2")))
    assert got_dir.name == "tf_model" and (got_dir / "variables" / "v.idx").read_bytes() == b"idx"

    assert hooks.aml_set_model_tags(workspace=ws, name=unique, version=2, tags={"stage": "prod"})
    (tagged,) = hooks.aml_search_models(workspace=ws, name=unique, version=2, run_id=None)
    assert tagged.tags["stage"] == "prod"


def test_model_registry_from_run(hooks: Any, ws: WorkspaceConfig, unique: str, tmp_path: Path) -> None:
    run = new_run(hooks, ws, unique)
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(tmp_path / "model.onnx"),
                           artifact_path="outputs/model.onnx")
    record = hooks.aml_register_model(workspace=ws, name=unique, run_id=run.run_id,
                                      artifact_path="outputs/model.onnx", local_path=None, tags={}, description=None)
    assert record.run_id == run.run_id and record.source == f"{run.artifact_uri}/outputs/model.onnx"
    assert [m.version for m in hooks.aml_search_models(workspace=ws, name=None, version=None, run_id=run.run_id)] == [1]
    got = Path(hooks.aml_download_model(workspace=ws, name=unique, version=1, dst_dir=str(tmp_path / "dl")))
    assert got.name == "model.onnx" and got.read_bytes() == b"onnx"


def test_search_and_status_over_store(hooks: Any, ws: WorkspaceConfig, unique: str) -> None:
    parent = new_run(hooks, ws, unique, **{"aml_bridge.run_id": f"{unique}_1"})
    child = hooks.aml_start_run(workspace=ws, experiment_name=unique, parent_run_id=parent.run_id,
                                run_name="child", tags={"aml_bridge.status": "NotStarted"})
    found = hooks.aml_search_runs(workspace=ws, experiment_name=None, parent_run_id=None,
                                  tags={"aml_bridge.run_id": f"{unique}_1"})
    assert [r.run_id for r in found] == [parent.run_id]
    children = hooks.aml_search_runs(workspace=ws, experiment_name=unique, parent_run_id=parent.run_id, tags={})
    assert [(r.run_id, r.status) for r in children] == [(child.run_id, "NotStarted")]
    hooks.aml_set_status(workspace=ws, run_id=child.run_id, status="Failed",
                         error={"error": {"code": "UserError", "message": "x" * 10000}})
    failed = hooks.aml_read_run(workspace=ws, run_id=child.run_id)
    assert failed.status == "Failed" and failed.end_time is not None
    assert json.loads(failed.tags["aml_bridge.error"])["error"]["code"] == "UserError"
    assert unique in hooks.aml_list_experiments(workspace=ws)
