"""MLflow plugin behaviour beyond the per-hook tests: concurrency, robustness, MLflow integration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aml_bridge.records import ROW, Metric
from aml_bridge.settings import WorkspaceConfig
from mlflow_plugin import store


def new_run(hooks: Any, ws: WorkspaceConfig, experiment: str) -> Any:
    return hooks.aml_start_run(workspace=ws, experiment_name=experiment, parent_run_id=None,
                               run_name=None, tags={})


def test_import_is_light() -> None:
    """Loading the plugin (as `import aml_bridge` does through the entry point) must not import mlflow."""
    code = ("import sys; from aml_bridge.plugins import build_plugin_manager; pm = build_plugin_manager(); "
            "assert pm.get_plugin('mlflow') is not None; print('mlflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_experiment_get_or_create_is_race_safe(sqlite_ws: WorkspaceConfig, unique: str) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        try:
            barrier.wait()
            ids.append(store.experiment_id(sqlite_ws, unique, refresh=True))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(ids) == 6 and len(set(ids)) == 1


def test_start_run_in_deleted_experiment_restores_it(hooks: Any, sqlite_ws: WorkspaceConfig, unique: str) -> None:
    first = new_run(hooks, sqlite_ws, unique)
    client = store.client(sqlite_ws)
    client.delete_experiment(first.experiment_id)
    second = new_run(hooks, sqlite_ws, unique)  # cached id is stale: resolved again and restored
    assert second.experiment_id == first.experiment_id
    assert client.get_experiment(first.experiment_id).lifecycle_stage == "active"


def test_awkward_metric_names_and_values_never_fail_the_batch(
        hooks: Any, sqlite_ws: WorkspaceConfig, unique: str) -> None:
    run = new_run(hooks, sqlite_ws, unique)
    t = time.time()
    names = ["", "..", "/root", "a//b", "x" * 400, "émoji 🎉", "a:b", "a_b"]
    metrics = [Metric(n, 1.5, None, t + i) for i, n in enumerate(names)]
    metrics += [Metric("huge_step", 1, 2**70, t + 20), Metric("inf", float("inf"), None, t + 21),
                Metric("neg_time", 1, None, -5.0)]
    hooks.aml_log_batch(workspace=sqlite_ws, run_id=run.run_id, metrics=metrics, tags={}, properties={})
    assert hooks.aml_read_metrics(workspace=sqlite_ws, run_id=run.run_id) == sorted(metrics, key=lambda m: m.time)
    mirrored = store.client(sqlite_ws).get_run(run.run_id).data.metrics
    assert set(mirrored) == {store.metric_key(n) for n in names} | {"huge_step", "inf", "neg_time"}
    assert mirrored["a_b"] == 1.5  # "a:b" and "a_b" share one chart; the journal keeps both apart
    assert store.client(sqlite_ws).get_metric_history(run.run_id, "huge_step")[0].step == 0


def test_parallel_writers_lose_nothing(hooks: Any, sqlite_ws: WorkspaceConfig, unique: str) -> None:
    run = new_run(hooks, sqlite_ws, unique)
    t = time.time()

    def writer(index: int) -> None:
        for batch in range(5):
            values = [Metric(f"w{index}", batch * 10 + k, None, t + batch + k / 100) for k in range(10)]
            hooks.aml_log_batch(workspace=sqlite_ws, run_id=run.run_id, metrics=values, tags={}, properties={})

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = hooks.aml_read_metrics(workspace=sqlite_ws, run_id=run.run_id)
    assert len(got) == 200
    for index in range(4):
        assert [m.value for m in got if m.name == f"w{index}"] == list(range(50))


def test_tables_keep_existing_logged_artifacts(
        hooks: Any, sqlite_ws: WorkspaceConfig, unique: str, tmp_path: Path) -> None:
    run = new_run(hooks, sqlite_ws, unique)
    client = store.client(sqlite_ws)
    client.set_tag(run.run_id, "mlflow.loggedArtifacts", json.dumps([{"path": "eval.json", "type": "table"}]))
    t = time.time()
    rows = [Metric("per class", {"cls": "a", "f1": 0.5}, None, t, ROW),
            Metric("confusion:matrix", {"x": 1}, None, t + 1, ROW), Metric("scalar", 1, None, t + 2)]
    hooks.aml_log_batch(workspace=sqlite_ws, run_id=run.run_id, metrics=rows, tags={}, properties={})
    hooks.aml_set_status(workspace=sqlite_ws, run_id=run.run_id, status="Completed", error=None)
    listed = json.loads(client.get_run(run.run_id).data.tags["mlflow.loggedArtifacts"])
    assert [e["path"] for e in listed] == ["eval.json", "tables/per class.json", "tables/confusion_matrix.json"]
    # Read back the way MlflowClient.load_table reads a table file (load_table itself searches
    # runs through the process-global tracking URI, so it cannot be pointed at this store).
    import pandas as pd

    local = client.download_artifacts(run.run_id, "tables/per class.json", str(tmp_path))
    assert pd.read_json(local, orient="split").to_dict("records") == [{"cls": "a", "f1": 0.5}]


def test_context_provider_tags_fluent_runs(sqlite_ws: WorkspaceConfig, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AIRFLOW_CTX_", "AML_BRIDGE_"))}
    env.update({"MLFLOW_TRACKING_URI": sqlite_ws.tracking_uri, "AIRFLOW_CTX_DAG_ID": "dag",
                "AIRFLOW_CTX_TASK_ID": "task", "AIRFLOW_CTX_DAG_RUN_ID": "manual__1",
                "AIRFLOW_CTX_TRY_NUMBER": "2"})
    code = "import mlflow\nwith mlflow.start_run() as run:\n    print(run.info.run_id)\n"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    tags = store.client(sqlite_ws).get_run(done.stdout.strip().splitlines()[-1]).data.tags
    assert {k: v for k, v in tags.items() if k.startswith("airflow.")} == {
        "airflow.dag_id": "dag", "airflow.task_id": "task", "airflow.run_id": "manual__1",
        "airflow.try_number": "2", "airflow.map_index": "-1"}


def test_context_provider_outside_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow_plugin.context import AirflowRunContextProvider

    for name in list(os.environ):
        if name.startswith("AIRFLOW_CTX_"):
            monkeypatch.delenv(name)
    provider = AirflowRunContextProvider()
    assert provider.in_context() is False and provider.tags() == {}
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "d")
    monkeypatch.setenv("AML_BRIDGE_MAP_INDEX", "3")
    assert provider.in_context() is True
    assert provider.tags() == {"airflow.dag_id": "d", "airflow.map_index": "3"}
