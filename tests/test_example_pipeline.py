"""The example pipeline (examples/pipeline): the unchanged Azure definition end to end through Airflow.

One run through `aml-bridge pipeline run` (dag.test) feeds most checks; the example `dag.py` then
runs under `airflow dags test` against the same store, so its unchanged step reuses that run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from aml_bridge import Experiment, Model, Run, Workspace
from aml_bridge.cli import main
from tests.support.airflow_env import airflow_env, dags_test, migrate_db

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pipeline"
EXPERIMENT = "wine-pipeline"  # the definition's Experiment(ws, "wine-pipeline").submit(...)
HEAVY = ("mlflow", "boto3", "pandas", "sklearn")


@pytest.fixture(scope="module")
def example_home(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("example-home"))


@pytest.fixture(scope="module")
def example_run(example_home, tmp_path_factory) -> str:
    """Run the example once (regularization overridden to 0.25), return the pipeline run's id."""
    log = tmp_path_factory.mktemp("example-log") / "run.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AML_BRIDGE_HOME", example_home)
        code = main(["pipeline", "run", str(EXAMPLE / "pipeline.py"), "--param", "regularization=0.25",
                     "--log-file", str(log)])
        assert code == 0, log.read_text()[-4000:]
        runs = list(Experiment(_workspace(), EXPERIMENT).get_runs())
    assert len(runs) == 1
    return runs[0].id


def _workspace() -> Workspace:
    """The example's own workspace config (examples/pipeline/aml-bridge.json), store from AML_BRIDGE_HOME."""
    return Workspace.from_config(str(EXAMPLE))


@pytest.fixture
def ws(example_home, tmp_path, monkeypatch) -> Workspace:
    """The example's workspace; the cwd is scratch (`Model.get_model_path` downloads into it)."""
    monkeypatch.setenv("AML_BRIDGE_HOME", example_home)
    monkeypatch.chdir(tmp_path)
    return _workspace()


def _steps(pipeline_run) -> dict:
    return {s.name: s for s in pipeline_run.get_steps()}


def test_run_tree_and_metrics(ws, example_run):
    pipeline_run = Run.get(ws, example_run)
    assert pipeline_run.type == "azureml.PipelineRun" and pipeline_run.get_status() == "Completed"
    steps = _steps(pipeline_run)
    assert set(steps) == {"prepare", "train", "evaluate", "batch-score"}
    assert all(s.get_status() == "Completed" and s.parent.id == pipeline_run.id for s in steps.values())
    starts = [steps[n]._record.start_time for n in ("prepare", "train", "evaluate")]
    assert starts == sorted(starts)

    prepare = steps["prepare"].get_metrics()
    assert prepare["test_size"] == 0.25  # the parameter's default
    assert prepare["train_rows"] + prepare["test_rows"] == 178 and prepare["test_rows"] == 45
    assert sum(prepare["class_counts"]) == prepare["train_rows"]

    train = steps["train"].get_metrics()
    assert train["C"] == 0.25  # --param regularization=0.25 beat the definition's submitted 0.5
    assert len(train["cv_accuracy"]) == 5 and train["cv_accuracy_mean"] > 0.9
    assert train["cv_confusion_matrix"].startswith("aml://artifactId/")
    files = steps["train"].get_file_names()
    assert {"cv_confusion_matrix", "cv_confusion_matrix.png", "outputs/model/MLmodel"} <= set(files)
    matrix = json.loads(steps["train"]._read_text("cv_confusion_matrix"))
    assert sum(map(sum, matrix["data"]["matrix"])) == prepare["train_rows"]

    evaluate = steps["evaluate"].get_metrics()
    assert 0.85 < evaluate["accuracy"] <= 1.0
    assert evaluate["f1_per_class"]["label"] == ["0", "1", "2"]

    # run.parent.log / run.parent.tag from the steps
    assert pipeline_run.get_metrics() == {"cv_accuracy_mean": train["cv_accuracy_mean"],
                                          "test_accuracy": evaluate["accuracy"]}
    tags = pipeline_run.get_tags()
    assert tags["model_quality"] == "good" and tags["airflow.dag_id"] == EXPERIMENT
    assert tags["dataset"] == "sklearn-wine"  # the definition's submit(tags=...)
    assert steps["train"].get_tags()["airflow.task_id"] == "train"


def test_batch_score_step_scores_the_registered_model_on_every_held_out_row(ws, example_run, tmp_path):
    """The ParallelTask(type='model') node: tabular mini-batches of the holdout, 2 nodes x 2 processes,
    scored by the version the train step registered in the same pipeline run (no scoring script)."""
    steps = _steps(Run.get(ws, example_run))
    score = steps["batch-score"]
    folder = Path(score.get_output_data("scores").download(str(tmp_path)))
    scored = pd.read_csv(folder / "parallel_run_step.txt", sep=" ", header=None)
    holdout = pd.read_csv(Path(steps["prepare"].get_output_data("holdout").download(str(tmp_path))) / "holdout.csv")
    test = pd.read_csv(Path(steps["prepare"].get_output_data("prepared_data").download(str(tmp_path))) / "test.csv")
    assert "target" not in holdout.columns and scored.shape == (45, holdout.shape[1] + 1)
    assert (scored.iloc[:, :-1].to_numpy() == holdout.to_numpy()).all()  # input columns, input row order
    model = mlflow.pyfunc.load_model(Model.get_model_path("wine-classifier", _workspace=ws))
    assert Model(ws, "wine-classifier").run_id == steps["train"].id
    assert (scored.iloc[:, -1].to_numpy() == model.predict(holdout)).all()  # this run's model, row for row
    assert (scored.iloc[:, -1] == test["target"]).mean() > 0.85
    metrics = score.get_metrics()
    assert metrics["items_succeeded"][-1] == 45
    assert metrics["mini_batches_total"][-1] > 1 and metrics["mini_batches_failed"][-1] == 0
    assert "logs/job_result.txt" in score.get_file_names()


def test_registered_model_predicts(ws, example_run, tmp_path):
    train = _steps(Run.get(ws, example_run))["train"]
    model = Model(ws, "wine-classifier")
    assert model.run_id == train.id and model.tags["C"] == "0.25"
    path = Model.get_model_path("wine-classifier", version=model.version, _workspace=ws)
    assert Path(path).resolve().is_relative_to(tmp_path.resolve())  # downloaded into the cwd, as Azure does
    assert (Path(path) / "MLmodel").is_file()  # an MLflow model folder, with its signature
    loaded = mlflow.pyfunc.load_model(path)
    X, y = load_wine(return_X_y=True, as_frame=True)
    assert loaded.metadata.get_input_schema().input_names() == list(X.columns)
    assert (loaded.predict(X) == y).mean() > 0.9


def test_step_outputs_live_on_the_datastore(ws, example_run, tmp_path):
    steps = _steps(Run.get(ws, example_run))
    prepared = steps["prepare"].get_output_data("prepared_data")
    assert prepared.datastore_name == "workspaceblobstore"
    assert prepared.path_on_datastore == f"azureml/{steps['prepare'].id}/prepared_data"
    folder = Path(prepared.download(str(tmp_path)))
    train, test = pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "test.csv")
    assert (len(train), len(test)) == (133, 45) and "target" in train.columns
    model_dir = steps["train"].get_output_data("model_dir")
    assert model_dir.path_on_datastore == f"azureml/{steps['train'].id}/model_dir"
    assert (Path(model_dir.download(str(tmp_path))) / "model.pkl").is_file()
    assert steps["evaluate"].get_outputs() == {}


def test_dag_file_builds_without_heavy_imports(tmp_path):
    """What Airflow's DAG processor pays: the DAG, without mlflow, boto3, pandas or sklearn loaded."""
    code = f"""
import json, runpy, sys
dag = runpy.run_path({str(EXAMPLE / 'dag.py')!r})["dag"]
print(json.dumps({{"dag_id": dag.dag_id, "tasks": sorted(dag.task_ids), "params": dict(dag.params),
                  "upstream": sorted(dag.get_task("evaluate").upstream_task_ids),
                  "pool": dag.get_task("train").pool,
                  "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AML_BRIDGE_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    built = json.loads(done.stdout.strip().splitlines()[-1])
    assert built["heavy"] == []
    assert built["dag_id"] == "aml_example_pipeline"
    assert built["tasks"] == ["aml_pipeline_end", "aml_pipeline_start", "batch-score", "batch-score__nodes",
                              "batch-score__prepare", "evaluate", "prepare", "train"]
    assert built["params"] == {"test_size": 0.25, "regularization": 1.0}  # PipelineParameter defaults
    assert built["upstream"] == ["prepare", "train"]
    assert built["pool"] == "default_pool"  # compute target cpu-cluster -> pool, from aml-bridge.json


def test_dag_file_under_airflow_dags_test(example_home, example_run, tmp_path, monkeypatch):
    """`airflow dags test aml_example_pipeline` with the DAGs folder examples/pipeline (dag.py only,
    see .airflowignore). Same store as `example_run`: prepare is unchanged and reused; train and
    evaluate run again because regularization is back at its default."""
    env = airflow_env(tmp_path / "airflow", EXAMPLE, AML_BRIDGE_HOME=example_home)
    migrate_db(env)
    result = dags_test(env, "aml_example_pipeline")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    monkeypatch.setenv("AML_BRIDGE_HOME", example_home)
    ws = _workspace()
    runs = [r for r in Experiment(ws, EXPERIMENT).get_runs() if r.id != example_run]
    assert len(runs) == 1
    pipeline_run = Run.get(ws, runs[0].id)
    assert pipeline_run.get_status() == "Completed"
    assert pipeline_run.get_tags()["airflow.dag_id"] == "aml_example_pipeline"
    steps = _steps(pipeline_run)
    first = _steps(Run.get(ws, example_run))
    assert steps["prepare"].get_tags()["azureml.reusedrunid"] == first["prepare"].id
    assert "azureml.reusedrunid" not in steps["train"].get_tags()
    assert steps["train"].get_metrics()["C"] == 1.0
    assert steps["evaluate"].get_metrics()["accuracy"] > 0.85
    assert steps["train"].get_output_data("model_dir").path_on_datastore == (
        f"azureml/{steps['train'].id}/model_dir")
    assert Model(ws, "wine-classifier").tags["C"] == "1.0"  # a second version, from this run
