"""One test per hook the MLflow plugin implements, through a fresh plugin manager on SQLite.

The store is shared by the module (a new SQLite store costs ~4 s of migrations); each test
uses its own experiment and model names.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from aml_bridge.plugins import build_plugin_manager
from aml_bridge.records import ROW, SCALAR, Metric, ModelRecord, RunRecord
from aml_bridge.settings import WorkspaceConfig


@pytest.fixture
def ws(sqlite_ws: WorkspaceConfig) -> WorkspaceConfig:
    """The session's SQLite workspace (tests/mlflow_plugin/conftest.py)."""
    return sqlite_ws


@pytest.fixture
def name(unique: str) -> str:
    return unique


@pytest.fixture
def client(ws: WorkspaceConfig) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(ws.tracking_uri)


def start(hooks: Any, ws: WorkspaceConfig, experiment: str, parent: str | None = None,
          run_name: str | None = None, **tags: str) -> RunRecord:
    return hooks.aml_start_run(workspace=ws, experiment_name=experiment, parent_run_id=parent,
                               run_name=run_name, tags=tags)


def log(hooks: Any, ws: WorkspaceConfig, run_id: str, metrics: list[Metric] = (),  # type: ignore[assignment]
        tags: dict[str, str] | None = None, properties: dict[str, str] | None = None) -> None:
    hooks.aml_log_batch(workspace=ws, run_id=run_id, metrics=list(metrics), tags=tags or {},
                        properties=properties or {})


def test_hook_aml_start_run(hooks: Any, ws: WorkspaceConfig, name: str, client: Any) -> None:
    before = time.time()
    parent = start(hooks, ws, name, run_name="parent", **{"aml_bridge.status": "NotStarted", "team": "a"})
    child = start(hooks, ws, name, parent=parent.run_id, run_name="child")

    assert isinstance(parent, RunRecord)
    assert parent.experiment_name == name and parent.experiment_id
    assert parent.status == "NotStarted"  # the status tag wins over MLflow's RUNNING
    assert parent.tags["team"] == "a" and parent.tags["mlflow.runName"] == "parent"
    assert parent.start_time is not None and before - 1 <= parent.start_time <= time.time() + 1
    assert parent.end_time is None
    assert child.tags["mlflow.parentRunId"] == parent.run_id
    assert child.experiment_id == parent.experiment_id
    assert child.status == "Running"  # no status tag: MLflow's RUNNING
    # Local stores: the experiment keeps its artifacts under artifact_root/<experiment name>.
    location = client.get_experiment(parent.experiment_id).artifact_location
    assert location == (Path(ws.artifact_root) / name).resolve().as_uri()
    assert parent.artifact_uri.startswith(location + "/")


def read_run_without_fallback(ws: WorkspaceConfig, run_id: str) -> RunRecord | None:
    """aml_read_run minus the trylast fallback, which turns a None ("unknown run") into PluginError."""
    pm = build_plugin_manager()
    fallback = pm.get_plugin("aml_bridge.default_plugins.fallbacks")
    return pm.subset_hook_caller("aml_read_run", remove_plugins=[fallback])(workspace=ws, run_id=run_id)


def test_hook_aml_read_run(hooks: Any, ws: WorkspaceConfig, name: str, client: Any) -> None:
    assert read_run_without_fallback(ws, uuid.uuid4().hex) is None
    run = start(hooks, ws, name)
    log(hooks, ws, run.run_id, tags={"k": "v"}, properties={"p": "1"})
    record = hooks.aml_read_run(workspace=ws, run_id=run.run_id)
    assert record.run_id == run.run_id and record.experiment_name == name
    assert record.tags["k"] == "v" and record.properties == {"p": "1"}

    # Without an aml_bridge.status tag the MLflow status is mapped.
    plain = client.create_run(run.experiment_id)
    client.set_terminated(plain.info.run_id, "KILLED")
    mapped = hooks.aml_read_run(workspace=ws, run_id=plain.info.run_id)
    assert mapped.status == "Canceled"
    assert isinstance(mapped.end_time, float) and mapped.end_time >= mapped.start_time
    client.delete_run(plain.info.run_id)
    assert read_run_without_fallback(ws, plain.info.run_id) is None


def test_hook_aml_search_runs(hooks: Any, ws: WorkspaceConfig, name: str) -> None:
    tricky = "it's \"quoted\""
    parent = start(hooks, ws, name, **{"aml_bridge.run_id": "custom_1"})
    time.sleep(0.01)
    first = start(hooks, ws, name, parent=parent.run_id, kind="a", note=tricky)
    time.sleep(0.01)
    second = start(hooks, ws, name, parent=parent.run_id, kind="b", note="")

    def ids(**kw: Any) -> list[str]:
        args = {"experiment_name": name, "parent_run_id": None, "tags": {}, **kw}
        return [r.run_id for r in hooks.aml_search_runs(workspace=ws, **args)]

    assert ids() == [second.run_id, first.run_id, parent.run_id]  # newest first
    assert ids(parent_run_id=parent.run_id) == [second.run_id, first.run_id]
    assert ids(tags={"kind": "a"}) == [first.run_id]
    assert ids(tags={"note": tricky}) == [first.run_id]  # cannot be quoted: filtered in Python
    assert ids(tags={"note": ""}) == [second.run_id]
    assert ids(experiment_name=None, tags={"aml_bridge.run_id": "custom_1"}) == [parent.run_id]
    assert ids(experiment_name=f"{name}_missing") == []
    records = hooks.aml_search_runs(workspace=ws, experiment_name=name, parent_run_id=None, tags={"kind": "b"})
    assert records[0].experiment_name == name and records[0].tags["note"] == ""


def test_hook_aml_list_experiments(hooks: Any, ws: WorkspaceConfig, name: str, client: Any) -> None:
    start(hooks, ws, name)
    start(hooks, ws, f"{name}_gone")
    client.delete_experiment(client.get_experiment_by_name(f"{name}_gone").experiment_id)
    names = hooks.aml_list_experiments(workspace=ws)
    assert name in names and f"{name}_gone" not in names


def test_hook_aml_log_batch(hooks: Any, ws: WorkspaceConfig, name: str, client: Any) -> None:
    run = start(hooks, ws, name)
    now = time.time()
    metrics = [
        Metric("loss", 0.25, None, now), Metric("loss", 0.125, None, now + 1),
        Metric("big", 2**70, None, now + 2), Metric("flag", True, None, now + 3),
        Metric("text", "hello", None, now + 4), Metric("none", None, None, now + 5),
        Metric("epoch", 3, 30, now + 6), Metric("acc:top/1 ?", 0.5, None, now + 7),
        Metric("table", {"a": 1}, None, now + 8, ROW),
        Metric("img", "aml://artifactId/ExperimentRun/dcid.x/img.png", None, now + 9, "artifact"),
    ]
    log(hooks, ws, run.run_id, metrics, tags={"t": "", "u": "v"}, properties={"p": "1"})

    # Journal: one part per call, named <time_ns>-<pid>-<hex>.
    parts = hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix=".aml_bridge/metrics")
    assert len(parts) == 1
    assert re.fullmatch(rf"\.aml_bridge/metrics/\d{{20}}-{os.getpid()}-[0-9a-f]{{6}}(\.rows)?\.jsonl", parts[0])
    assert hooks.aml_read_metrics(workspace=ws, run_id=run.run_id) == metrics

    # Mirror: numeric scalars only, sanitised keys, per-name index as step, ms timestamps.
    data = client.get_run(run.run_id).data
    assert set(data.metrics) == {"loss", "flag", "epoch", "acc_top/1 _"}
    history = client.get_metric_history(run.run_id, "loss")
    assert [(p.value, p.step, p.timestamp) for p in history] == [
        (0.25, 0, int(now * 1000)), (0.125, 1, int((now + 1) * 1000))]
    assert client.get_metric_history(run.run_id, "flag")[0].value == 1.0
    assert client.get_metric_history(run.run_id, "epoch")[0].step == 30
    assert data.tags["t"] == "" and data.tags["u"] == "v" and data.params == {"p": "1"}

    # A second call is a second part; more than MLflow's 1000-per-request limit is chunked.
    many = [Metric("series", float(i), None, now + 10 + i / 1000) for i in range(2500)]
    log(hooks, ws, run.run_id, many, tags={f"k{i}": str(i) for i in range(150)})
    assert len(hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix=".aml_bridge/metrics")) == 2
    series = client.get_metric_history(run.run_id, "series")
    assert len(series) == 2500 and max(p.step for p in series) == 2499
    assert client.get_run(run.run_id).data.tags["k149"] == "149"


def test_hook_aml_delete_tags(hooks: Any, ws: WorkspaceConfig, name: str) -> None:
    run = start(hooks, ws, name, a="1", b="2")
    hooks.aml_delete_tags(workspace=ws, run_id=run.run_id, keys=["a", "never-set"])
    tags = hooks.aml_read_run(workspace=ws, run_id=run.run_id).tags
    assert "a" not in tags and tags["b"] == "2"


def test_hook_aml_read_metrics(hooks: Any, ws: WorkspaceConfig, name: str, client: Any) -> None:
    run = start(hooks, ws, name)
    assert hooks.aml_read_metrics(workspace=ws, run_id=run.run_id) == []
    t = 1_700_000_000.0
    # Two parts whose records interleave in time: the result is ordered by time.
    log(hooks, ws, run.run_id, [Metric("a", 1, None, t + 1), Metric("a", 3, None, t + 3)])
    log(hooks, ws, run.run_id, [Metric("b", "x", None, t + 2), Metric("a", 4, None, t + 3)])
    # Logged with plain MLflow, no journal entry: returned as floats.
    client.log_metric(run.run_id, "plain", 7, timestamp=int((t + 2.5) * 1000), step=5)
    values = hooks.aml_read_metrics(workspace=ws, run_id=run.run_id)
    assert values == [
        Metric("a", 1, None, t + 1, SCALAR), Metric("b", "x", None, t + 2, SCALAR),
        Metric("plain", 7.0, 5, t + 2.5, SCALAR), Metric("a", 3, None, t + 3, SCALAR),
        Metric("a", 4, None, t + 3, SCALAR),
    ]
    assert type(values[0].value) is int and type(values[2].value) is float


def test_hook_aml_set_status(hooks: Any, ws: WorkspaceConfig, name: str, client: Any) -> None:
    run = start(hooks, ws, name, **{"aml_bridge.status": "NotStarted"})
    hooks.aml_set_status(workspace=ws, run_id=run.run_id, status="Queued", error=None)
    assert hooks.aml_read_run(workspace=ws, run_id=run.run_id).status == "Queued"
    hooks.aml_set_status(workspace=ws, run_id=run.run_id, status="Running", error=None)
    assert client.get_run(run.run_id).info.status == "RUNNING"

    t = time.time()
    rows = [Metric("scores", {"x": 1, "y": "a"}, None, t, ROW), Metric("scores", {"x": 2, "z": None}, None, t + 1, ROW),
            Metric("scores", {"x": float("nan")}, None, t + 2, ROW)]
    log(hooks, ws, run.run_id, rows)
    error = {"error": {"code": "UserError", "message": "boom " * 3000,
                       "debug_info": {"type": "ValueError", "stack_trace": "frame\n" * 2000}}}
    hooks.aml_set_status(workspace=ws, run_id=run.run_id, status="Failed", error=error)

    record = hooks.aml_read_run(workspace=ws, run_id=run.run_id)
    assert record.status == "Failed" and record.end_time is not None
    assert client.get_run(run.run_id).info.status == "FAILED"
    stored = record.tags["aml_bridge.error"]
    assert len(stored) <= 8000
    parsed = json.loads(stored)  # shortened, still valid JSON
    assert parsed["error"]["code"] == "UserError" and parsed["error"]["message"].startswith("boom boom")
    assert parsed["error"]["debug_info"]["type"] == "ValueError"

    # Rows became an MLflow table, announced the way mlflow.log_table does.
    assert json.loads(record.tags["mlflow.loggedArtifacts"]) == [{"path": "tables/scores.json", "type": "table"}]
    local = hooks.aml_download_artifact(workspace=ws, run_id=run.run_id, artifact_path="tables/scores.json",
                                        dst_dir=str(Path(ws.home) / name))
    table = json.loads(Path(local).read_text())
    assert table == {"columns": ["x", "y", "z"], "data": [[1, "a", None], [2, None, None], [None, None, None]]}

    done = start(hooks, ws, name)
    hooks.aml_set_status(workspace=ws, run_id=done.run_id, status="Completed", error=None)
    assert client.get_run(done.run_id).info.status == "FINISHED"
    hooks.aml_set_status(workspace=ws, run_id=done.run_id, status="Canceled", error=None)
    assert client.get_run(done.run_id).info.status == "KILLED"
    assert "mlflow.loggedArtifacts" not in client.get_run(done.run_id).data.tags


def test_hook_aml_log_artifact(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    run = start(hooks, ws, name)
    source = tmp_path / "local-name.txt"
    source.write_text("payload")
    assert hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(source),
                                  artifact_path="outputs/renamed.txt") is True
    assert hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(source),
                                  artifact_path="local-name.txt") is True
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    assert hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(folder),
                                  artifact_path="logs/dir") is True
    files = hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix="")
    assert files == ["local-name.txt", "logs/dir/a.txt", "logs/dir/sub/b.txt", "outputs/renamed.txt"]
    got = hooks.aml_download_artifact(workspace=ws, run_id=run.run_id, artifact_path="outputs/renamed.txt",
                                      dst_dir=str(tmp_path / "dl"))
    assert Path(got).read_text() == "payload"


def test_hook_aml_list_artifacts(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    run = start(hooks, ws, name)
    assert hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix="") == []
    for rel in ("outputs/m/b.bin", "outputs/a.txt", "outputs2/c.txt", "z.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(tmp_path), artifact_path="")

    def listing(prefix: str) -> list[str]:
        return hooks.aml_list_artifacts(workspace=ws, run_id=run.run_id, prefix=prefix)

    assert listing("") == ["outputs/a.txt", "outputs/m/b.bin", "outputs2/c.txt", "z.txt"]
    assert listing("outputs") == ["outputs/a.txt", "outputs/m/b.bin"]
    assert listing("outputs/") == ["outputs/a.txt", "outputs/m/b.bin"]
    assert listing("outputs/m/b.bin") == ["outputs/m/b.bin"]  # a file prefix lists itself
    assert listing("missing") == []


def test_hook_aml_download_artifact(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    run = start(hooks, ws, name)
    folder = tmp_path / "src"
    (folder / "deep").mkdir(parents=True)
    (folder / "deep" / "f.txt").write_text("deep")
    (folder / "top.txt").write_text("top")
    hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(folder), artifact_path="outputs")
    one = hooks.aml_download_artifact(workspace=ws, run_id=run.run_id, artifact_path="outputs/top.txt",
                                      dst_dir=str(tmp_path / "one"))
    assert Path(one).read_text() == "top" and Path(one).is_relative_to(tmp_path / "one")
    many = hooks.aml_download_artifact(workspace=ws, run_id=run.run_id, artifact_path="outputs",
                                       dst_dir=str(tmp_path / "many"))
    assert Path(many).is_dir() and (Path(many) / "deep" / "f.txt").read_text() == "deep"


def test_hook_aml_register_model(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    run = start(hooks, ws, name)
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(b"weights")
    hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(model_file),
                           artifact_path="outputs/model.pkl")

    from_run = hooks.aml_register_model(workspace=ws, name=name, run_id=run.run_id,
                                        artifact_path="outputs/model.pkl", local_path=None,
                                        tags={"stage": "dev"}, description="from a run")
    assert isinstance(from_run, ModelRecord)
    assert (from_run.name, from_run.version, from_run.run_id) == (name, 1, run.run_id)
    assert from_run.source == run.artifact_uri + "/outputs/model.pkl"
    assert from_run.tags == {"stage": "dev"} and from_run.description == "from a run"
    assert from_run.created_time is not None and abs(from_run.created_time - time.time()) < 60

    from_file = hooks.aml_register_model(workspace=ws, name=name, run_id=None, artifact_path=None,
                                         local_path=str(model_file), tags={}, description=None)
    assert from_file.version == 2 and from_file.run_id is None and from_file.description is None
    assert from_file.tags["aml_bridge.model_file"] == "model.pkl"
    model_file.write_bytes(b"changed later")  # the registered copy lives in MLflow's storage
    got = hooks.aml_download_model(workspace=ws, name=name, version=2, dst_dir=str(tmp_path / "dl"))
    assert Path(got).read_bytes() == b"weights"

    # Concurrent first registrations of one name: every caller gets its own version.
    racing = f"{name}_race"
    versions: list[int] = []

    def register() -> None:
        record = hooks.aml_register_model(workspace=ws, name=racing, run_id=run.run_id,
                                          artifact_path="outputs", local_path=None, tags={}, description=None)
        versions.append(record.version)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == [1, 2, 3, 4]


def test_hook_aml_search_models(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    run = start(hooks, ws, name)
    other = start(hooks, ws, name)
    (tmp_path / "m.txt").write_text("m")
    hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(tmp_path / "m.txt"), artifact_path="m.txt")
    hooks.aml_log_artifact(workspace=ws, run_id=other.run_id, local_path=str(tmp_path / "m.txt"), artifact_path="m.txt")

    def register(model: str, run_id: str) -> None:
        hooks.aml_register_model(workspace=ws, name=model, run_id=run_id, artifact_path="m.txt",
                                 local_path=None, tags={}, description=None)

    register(name, run.run_id)
    register(name, other.run_id)
    register(name, run.run_id)
    register(f"{name}_b", other.run_id)

    def search(**kw: Any) -> list[tuple[str, int]]:
        args = {"name": None, "version": None, "run_id": None, **kw}
        return [(m.name, m.version) for m in hooks.aml_search_models(workspace=ws, **args)]

    assert search(name=name) == [(name, 3), (name, 2), (name, 1)]
    assert search(name=name, version=2) == [(name, 2)]
    assert search(name=name, version=9) == []
    assert search(run_id=run.run_id) == [(name, 3), (name, 1)]
    assert search(run_id=other.run_id) == [(f"{name}_b", 1), (name, 2)]
    assert search(name=f"{name}_missing") == []
    everything = search()
    assert {(name, 1), (name, 2), (name, 3), (f"{name}_b", 1)} <= set(everything)
    assert everything.index((f"{name}_b", 1)) < everything.index((name, 3))  # newest first


def test_hook_aml_download_model(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    folder = tmp_path / "sk_model"
    (folder / "nested").mkdir(parents=True)
    (folder / "model.pkl").write_bytes(b"w")
    (folder / "nested" / "conf.json").write_text("{}")
    hooks.aml_register_model(workspace=ws, name=name, run_id=None, artifact_path=None,
                             local_path=str(folder), tags={}, description=None)
    got = Path(hooks.aml_download_model(workspace=ws, name=name, version=1, dst_dir=str(tmp_path / "a")))
    assert got == tmp_path / "a" / "sk_model"
    assert sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file()) == [
        "model.pkl", "nested/conf.json"]

    run = start(hooks, ws, name)
    hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(folder), artifact_path="outputs/sk_model")
    hooks.aml_log_artifact(workspace=ws, run_id=run.run_id, local_path=str(folder / "model.pkl"),
                           artifact_path="outputs/single.pkl")
    for path in ("outputs/sk_model", "outputs/single.pkl"):
        hooks.aml_register_model(workspace=ws, name=name, run_id=run.run_id, artifact_path=path,
                                 local_path=None, tags={}, description=None)
    from_dir = Path(hooks.aml_download_model(workspace=ws, name=name, version=2, dst_dir=str(tmp_path / "b")))
    assert from_dir.name == "sk_model" and (from_dir / "nested" / "conf.json").exists()
    from_file = Path(hooks.aml_download_model(workspace=ws, name=name, version=3, dst_dir=str(tmp_path / "c")))
    assert from_file.is_file() and from_file.name == "single.pkl" and from_file.read_bytes() == b"w"


def test_hook_aml_set_model_tags(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"m")
    hooks.aml_register_model(workspace=ws, name=name, run_id=None, artifact_path=None,
                             local_path=str(tmp_path / "m.bin"), tags={"a": "1"}, description=None)
    assert hooks.aml_set_model_tags(workspace=ws, name=name, version=1, tags={"a": "2", "b": ""}) is True
    (record,) = hooks.aml_search_models(workspace=ws, name=name, version=1, run_id=None)
    assert record.tags["a"] == "2" and record.tags["b"] == ""


def test_hook_aml_step_env(hooks: Any, ws: WorkspaceConfig, name: str, tmp_path: Path) -> None:
    run = start(hooks, ws, name)
    merged: dict[str, str] = {}
    for part in hooks.aml_step_env(workspace=ws, run=run, step=None):
        merged.update(part or {})
    assert merged == {"MLFLOW_TRACKING_URI": ws.tracking_uri, "MLFLOW_RUN_ID": run.run_id,
                      "MLFLOW_EXPERIMENT_ID": run.experiment_id}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AIRFLOW_CTX_"))}
    env.update(merged)
    script = "import mlflow; mlflow.log_metric('x', 1)"
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = hooks.aml_read_metrics(workspace=ws, run_id=run.run_id)
    assert [(m.name, m.value, type(m.value)) for m in metrics] == [("x", 1.0, float)]
