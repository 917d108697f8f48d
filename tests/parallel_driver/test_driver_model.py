"""`ParallelTask(type='model')` through the driver: real scikit-learn models in a real MLflow registry
(the session's SQLite store), scored by the built-in entry script with no user code."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from aml_bridge import Model, Workspace, settings
from aml_bridge.parallel import Input, Output, ParallelTask, parallel_run_function
from aml_bridge.parallel.driver import run_parallel
from aml_bridge.parallel.ledger import Ledger
from aml_bridge.parallel.manifest import build
from aml_bridge.parallel.model_task import ModelInputError

COLUMNS = ["a", "b", "c", "d"]


def _table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS)


class _PathLength(mlflow.pyfunc.PythonModel):
    """A pyfunc model over file paths: the size of each file (its signature takes a string column)."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> list[int]:
        return [os.path.getsize(p) for p in model_input["path"]]


class _ByteSum(mlflow.pyfunc.PythonModel):
    """A pyfunc model over file contents: the sum of the bytes (its signature takes a binary column)."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> list[int]:
        return [sum(content) for content in model_input["content"]]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, shared_home: str) -> SimpleNamespace:
    """Register once per module: a classifier (models:/, alias, runs:/), a local-folder `Model` and a paths model."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    uri = settings.resolve(home=shared_home).tracking_uri
    mlflow.set_tracking_uri(uri)
    train = _table(2000, seed=1)
    target = (train["a"] + 0.5 * train["b"] - train["c"] > 0).astype(int)
    model = LogisticRegression().fit(train, target)
    signature = infer_signature(train, model.predict(train))
    client = mlflow.MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name("model_task_registry")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(
        "model_task_registry", artifact_location=str(tmp_path_factory.mktemp("artifacts")))
    with mlflow.start_run(experiment_id=experiment_id) as run:
        info = mlflow.sklearn.log_model(model, name="model", signature=signature,
                                        registered_model_name="driver_model_clf")
        paths_info = mlflow.pyfunc.log_model(
            name="paths", python_model=_PathLength(),
            signature=infer_signature(pd.DataFrame({"path": ["x"]}), np.array([1])))
        bytes_info = mlflow.pyfunc.log_model(
            name="bytes", python_model=_ByteSum(),
            signature=infer_signature(pd.DataFrame({"content": [b"x"]}), np.array([1])))
        saved_in_run = tmp_path_factory.mktemp("in_run") / "model"
        mlflow.sklearn.save_model(model, str(saved_in_run), signature=signature)
        mlflow.log_artifacts(str(saved_in_run), "outputs/model")  # a plain run artifact, as run.upload_folder does
    client.set_registered_model_alias("driver_model_clf", "champion", info.registered_model_version)
    saved = tmp_path_factory.mktemp("saved") / "clf_model"
    mlflow.sklearn.save_model(model, str(saved), signature=signature)
    ws = Workspace(config=settings.resolve(home=shared_home))
    local = Model.register(ws, model_path=str(saved), model_name="driver_model_local")
    mlflow.set_tracking_uri(None)
    return SimpleNamespace(uri=uri, model=model, run_id=run.info.run_id, version=info.registered_model_version,
                           local=local, paths_uri=paths_info.model_uri, bytes_uri=bytes_info.model_uri)


def _settings(model: Any, kind: str = "tabular", **node: Any) -> Any:
    """The planned settings of a v2 model node (what the operator hands the driver)."""
    data = Input(type="mltable", mode="direct") if kind == "tabular" else Input(type="uri_folder")
    values: dict[str, Any] = dict(
        name="score", inputs={"data": data}, outputs={"scores": Output(type="uri_file")},
        input_data="${{inputs.data}}", mini_batch_size="64kb" if kind == "tabular" else 3,
        max_concurrency_per_instance=2,
        task=ParallelTask(type="model", model=model, append_row_to="${{outputs.scores}}"))
    values.update(node)
    from aml_bridge.parallel.v2 import plan_settings

    return plan_settings(parallel_run_function(**values))


def _drive(settings_: Any, paths: list[str], tmp_path: Path, uri: str, processes: int = 2) -> Any:
    batches = build(settings_.input_kind, paths, settings_.mini_batch_size)
    return run_parallel(settings_, batches, str(tmp_path / "work"), str(tmp_path / "out"), processes,
                        env={"MLFLOW_TRACKING_URI": uri})


def _scores(summary: Any) -> pd.DataFrame:
    return pd.read_csv(summary.output_file, sep=" ", header=None)


def test_registered_model_scores_100k_rows_exactly_like_predict(registry, tmp_path) -> None:
    table = _table(100_000)
    path = tmp_path / "rows.csv"
    table.to_csv(path, index=False)
    summary = _drive(_settings(registry.local), [str(path)], tmp_path, registry.uri)
    assert summary.status == "Completed", summary
    assert summary.total > 1 and summary.succeeded_items == 100_000
    scored = _scores(summary)
    assert scored.shape == (100_000, len(COLUMNS) + 1)  # input columns, then the prediction
    np.testing.assert_array_equal(scored.iloc[:, :4].to_numpy(), table.to_numpy())  # row order kept
    np.testing.assert_array_equal(scored.iloc[:, 4].to_numpy(), registry.model.predict(table))


@pytest.mark.parametrize("reference", ["azureml:driver_model_clf:{version}", "models:/driver_model_clf@champion",
                                       "runs:/{run_id}/model", "runs:/{run_id}/outputs/model"])
def test_every_reference_form_loads_the_same_model(registry, tmp_path, reference) -> None:
    table = _table(500, seed=3)
    path = tmp_path / "rows.parquet"
    table.to_parquet(path, index=False)
    ref = reference.format(version=registry.version, run_id=registry.run_id)
    summary = _drive(_settings(ref), [str(path)], tmp_path, registry.uri, processes=1)
    assert summary.status == "Completed", summary
    np.testing.assert_array_equal(_scores(summary).iloc[:, 4].to_numpy(), registry.model.predict(table))


def test_signature_mismatch_fails_before_any_mini_batch_naming_the_columns(registry, tmp_path) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    _table(50).to_csv(good, index=False)
    _table(50).rename(columns={"c": "z"}).to_csv(bad, index=False)
    with pytest.raises(ModelInputError, match=r"bad\.csv: missing columns \['c'\], extra columns \['z'\]"):
        _drive(_settings(f"models:/driver_model_clf/{registry.version}"), [str(good), str(bad)], tmp_path,
               registry.uri)
    ledger = tmp_path / "work" / "ledger"
    assert not list(ledger.glob("journal.*")) and Ledger(str(ledger)).statuses() == b""  # nothing ran
    assert not (tmp_path / "work" / "workers").exists()  # no worker was started
    assert [p for p in os.listdir(tmp_path / "work") if p.startswith("model.")] == []  # no partial download left


def test_file_input_feeds_paths_to_a_model_that_takes_them(registry, tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    paths = []
    for i in range(7):
        (folder / f"{i}.txt").write_text("x" * (i + 1))
        paths.append(str(folder / f"{i}.txt"))
    summary = _drive(_settings(registry.paths_uri, kind="file"), paths, tmp_path, registry.uri)
    assert summary.status == "Completed", summary
    with open(summary.output_file) as fh:
        assert fh.read().splitlines() == [f"{p} {i + 1}" for i, p in enumerate(paths)]


def test_file_input_feeds_bytes_to_a_model_that_takes_them(registry, tmp_path) -> None:
    folder = tmp_path / "blobs"
    folder.mkdir()
    paths = []
    for i in range(4):
        (folder / f"{i}.bin").write_bytes(bytes([i, 2 * i, 250]))
        paths.append(str(folder / f"{i}.bin"))
    summary = _drive(_settings(registry.bytes_uri, kind="file"), paths, tmp_path, registry.uri, processes=1)
    assert summary.status == "Completed", summary
    with open(summary.output_file) as fh:
        assert fh.read().splitlines() == [f"{p} {3 * i + 250}" for i, p in enumerate(paths)]  # the path, not the bytes


def test_file_input_to_a_tabular_model_fails_at_once(registry, tmp_path) -> None:
    (tmp_path / "one.txt").write_text("1")
    with pytest.raises(ModelInputError, match=r"cannot take file input: its signature must have one string "
                                              r"column \(file paths\) or one binary column"):
        _drive(_settings(registry.local, kind="file"), [str(tmp_path / "one.txt")], tmp_path, registry.uri)


def test_bad_rows_fail_their_mini_batch_with_retries_and_thresholds(registry, tmp_path) -> None:
    """The driver's semantics are unchanged: a chunk predict() refuses is retried, then counted."""
    table = _table(3000, seed=5).astype(object)
    table.loc[2500, "a"] = "not a number"  # only the last chunk has it
    path = tmp_path / "rows.csv"
    table.to_csv(path, index=False)
    settings_ = _settings(registry.local, mini_batch_error_threshold=0)
    summary = _drive(settings_, [str(path)], tmp_path, registry.uri)
    assert summary.status == "Failed" and "exceed allowed_failed_count 0" in summary.reason
    assert summary.failed == 1 and summary.done == summary.total - 1
    (failed_id,) = summary.failed_mini_batches
    assert "Incompatible input types for column a" in summary.failed_mini_batches[failed_id]
    state = (tmp_path / "work" / "ledger" / "state" / str(failed_id)).read_text()
    assert f'"attempts": {settings_.run_max_try}' in state  # every try was used



def test_preflight_keeps_the_supervisor_single_threaded_and_fetches_once(registry, tmp_path) -> None:
    """The workers are forked from the supervisor: the pre-flight must leave no thread behind in it."""
    import threading

    from aml_bridge.parallel.model_task import MODEL_PATH_ENV, prepared_model

    path = tmp_path / "rows.csv"
    _table(10).to_csv(path, index=False)
    settings_ = _settings(f"models:/driver_model_clf/{registry.version}")
    batches = build("tabular", [str(path)], 1024)
    before = threading.active_count()
    with prepared_model(settings_, batches, str(tmp_path), {"MLFLOW_TRACKING_URI": registry.uri}) as env:
        assert env[MODEL_PATH_ENV].startswith(str(tmp_path / "model"))  # in the work folder
        assert os.path.isfile(os.path.join(env[MODEL_PATH_ENV], "MLmodel"))
        assert threading.active_count() == before
    # another node (or a retry) on the same work folder uses that copy: no store needed any more
    with prepared_model(settings_, batches, str(tmp_path), {"MLFLOW_TRACKING_URI": "sqlite:////nonexistent/x.db"}
                        ) as again:
        assert again == env


def test_a_model_that_cannot_load_fails_before_any_worker(registry, tmp_path) -> None:
    broken = _broken_model(registry, tmp_path)
    path = tmp_path / "rows.csv"
    _table(10).to_csv(path, index=False)
    settings_ = _settings(f"models:/driver_model_clf/{registry.version}")
    settings_.model = str(broken)  # a local MLflow model folder, as the download would leave it
    with pytest.raises(ModelInputError, match=r"cannot be loaded with mlflow.pyfunc.load_model"):
        _drive(settings_, [str(path)], tmp_path, registry.uri)
    assert not (tmp_path / "work" / "workers").exists()


def test_a_node_task_records_an_unloadable_model_as_its_stop_reason(registry, tmp_path) -> None:
    """`python -m aml_bridge.parallel.node` (what a node task runs) exits 1 with the reason in its result."""
    import json
    import subprocess
    import sys

    from aml_bridge.execution.parallel_steps import NodeSpec
    from aml_bridge.parallel.driver import write_manifest

    broken = _broken_model(registry, tmp_path)
    path = tmp_path / "rows.csv"
    _table(10).to_csv(path, index=False)
    settings_ = _settings(f"models:/driver_model_clf/{registry.version}")
    settings_.model = str(broken)
    work = tmp_path / "work"
    write_manifest(str(work), build("tabular", [str(path)], 1024))
    NodeSpec(settings=settings_.to_extra(), output_path=str(tmp_path / "out"), user_args=[], env={}, processes=1,
             reuse_key=None, outputs={}).write(str(work))
    done = subprocess.run([sys.executable, "-m", "aml_bridge.parallel.node", str(work), "0"],
                          env={**os.environ, "MLFLOW_TRACKING_URI": registry.uri}, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    reason = json.loads((work / "nodes" / "0.json").read_text())["reason"]
    assert "cannot be loaded with mlflow.pyfunc.load_model" in reason and "cannot be loaded" in done.stderr


def _broken_model(registry: Any, tmp_path: Path) -> Path:
    """An MLflow model folder whose MLmodel file stays while the serialised estimator is gone."""
    import mlflow.sklearn

    broken = tmp_path / "broken"
    mlflow.sklearn.save_model(registry.model, str(broken), signature=_signature(registry.model))
    for name in os.listdir(broken):
        if name.startswith("model."):
            os.remove(broken / name)
    return broken


def _signature(model: Any) -> Any:
    from mlflow.models import infer_signature

    table = _table(5)
    return infer_signature(table, model.predict(table))



def test_environment_warnings_are_given_once_per_node_not_per_worker(registry, tmp_path, capfd) -> None:
    """load_model's requirement check runs in a child of the supervisor (beside its load); the workers skip it."""
    import mlflow.sklearn

    model = tmp_path / "needs_more"
    mlflow.sklearn.save_model(registry.model, str(model), signature=_signature(registry.model),
                              extra_pip_requirements=["aml-bridge-no-such-package==1.0"])
    path = tmp_path / "rows.csv"
    _table(300).to_csv(path, index=False)
    settings_ = _settings(f"models:/driver_model_clf/{registry.version}")
    settings_.model = str(model)
    capfd.readouterr()  # save_model warned too
    summary = _drive(settings_, [str(path)], tmp_path, registry.uri)
    assert summary.status == "Completed" and summary.succeeded_items == 300
    out = capfd.readouterr()
    assert (out.out + out.err).count("aml-bridge-no-such-package==1.0") == 1  # 2 worker processes, one warning
