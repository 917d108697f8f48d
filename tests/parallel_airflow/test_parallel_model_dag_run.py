"""`ParallelTask(type='model')` on real Airflow (`dag.test()`): a scikit-learn model registered in MLflow
scores a 100,000-row CSV through prepare >> 2 mapped node tasks >> gather, with no entry script.

The step is a v2 `Parallel` node (from `parallel_run_function(...)` called with its input: a v1
tabular dataset), placed in a v1 `Pipeline` like any step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from aml_bridge import Experiment
from aml_bridge.data import Dataset
from aml_bridge.parallel import Input, Output, ParallelTask, parallel_run_function
from aml_bridge.pipeline import Pipeline, PipelineData

COLUMNS = ["a", "b", "c"]


def _table(rows: int) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(7).normal(size=(rows, len(COLUMNS))), columns=COLUMNS)


@pytest.fixture
def registered(ws) -> Any:
    """A LogisticRegression logged with its signature and registered in the workspace's store."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    train = _table(1000)
    model = LogisticRegression().fit(train, (train["a"] - train["b"] > 0).astype(int))
    mlflow.set_tracking_uri(ws.config.tracking_uri)
    try:
        client = mlflow.MlflowClient(ws.config.tracking_uri)
        experiment = client.get_experiment_by_name("model_dag_registry") or client.get_experiment(
            client.create_experiment("model_dag_registry", artifact_location=ws.config.artifact_root + "/reg"))
        with mlflow.start_run(experiment_id=experiment.experiment_id):
            info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(train, model.predict(train)),
                                            registered_model_name="dag_clf")
    finally:
        mlflow.set_tracking_uri(None)
    return model, f"azureml:dag_clf:{info.registered_model_version}"


def _pipeline(ws, tmp_path: Path, table: pd.DataFrame, model: str) -> Pipeline:
    path = tmp_path / "rows.csv"
    table.to_csv(path, index=False)
    score = parallel_run_function(
        name="score", inputs={"rows": Input(type="mltable")}, outputs={"scores": Output(type="uri_folder")},
        input_data="${{inputs.rows}}", instance_count=2, max_concurrency_per_instance=1, mini_batch_size="512kb",
        compute="cpu-cluster", is_deterministic=False,
        task=ParallelTask(type="model", model=model, append_row_to="${{outputs.scores}}"))
    node = score(rows=Dataset.Tabular.from_delimited_files(str(path)).as_named_input("rows"))
    node.outputs["scores"] = PipelineData("scores", datastore=ws.get_default_datastore())
    return Pipeline(ws, [node])


def test_model_step_on_airflow_scores_100k_rows_like_predict(ws, tmp_path, registered) -> None:
    model, reference = registered
    table = _table(100_000)
    pipeline_run = Experiment(ws, "parallel-model").submit(_pipeline(ws, tmp_path, table, reference))

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"
    step = next(s for s in pipeline_run.get_steps() if s.name == "score")
    out = Path(step.get_output_data("scores").download(str(tmp_path / "dl")))
    scored = pd.read_csv(out / "parallel_run_step.txt", sep=" ", header=None)
    assert scored.shape == (100_000, len(COLUMNS) + 1)
    np.testing.assert_array_equal(scored.iloc[:, :3].to_numpy(), table.to_numpy())  # input columns, input order
    np.testing.assert_array_equal(scored.iloc[:, 3].to_numpy(), model.predict(table))
    metrics = step.get_metrics()
    assert metrics["items_succeeded"][-1] == 100_000 and metrics["mini_batches_failed"][-1] == 0
    assert {"logs/sys/node/0/std_log.txt", "logs/sys/node/1/std_log.txt"} <= set(step.get_file_names())
    assert step.get_tags()["azureml.parallel.model"] == f"models:/dag_clf/{reference.rpartition(':')[2]}"
    (scored_model,) = _model_inputs(ws, step)
    assert scored_model == _logged_model_id(ws, "dag_clf", reference.rpartition(":")[2])


def _model_inputs(ws, run) -> list[str]:
    from mlflow import MlflowClient

    return [m.model_id for m in MlflowClient(ws.config.tracking_uri).get_run(run._backend_id).inputs.model_inputs]


def _logged_model_id(ws, name: str, version: str) -> str:
    from mlflow import MlflowClient

    source = MlflowClient(ws.config.tracking_uri, registry_uri=ws.config.tracking_uri).get_model_version(
        name, version).source
    return source.removeprefix("models:/")  # MLflow 3 registers a logged model as models:/<model id>


def test_hook_aml_log_model_input(ws, registered) -> None:
    """Each reference form becomes the run's model input: the logged model behind it, once even when a
    retried prepare task calls the hook again."""
    from mlflow import MlflowClient

    from aml_bridge.plugins import hooks

    _, reference = registered
    version = reference.rpartition(":")[2]
    client = MlflowClient(ws.config.tracking_uri, registry_uri=ws.config.tracking_uri)
    model_id = _logged_model_id(ws, "dag_clf", version)
    client.set_registered_model_alias("dag_clf", "champion", version)
    source_run = client.get_logged_model(model_id).source_run_id
    for uri in (f"models:/dag_clf/{version}", "models:/dag_clf@champion", "models:/dag_clf/latest",
                f"models:/{model_id}", f"runs:/{source_run}/model"):
        run = Experiment(ws, "model-lineage").start_logging(snapshot_directory=None, outputs=False)
        for _ in range(2):
            hooks.aml_log_model_input(workspace=ws.config, run_id=run._backend_id, model_uri=uri)
        run.complete()
        assert _model_inputs(ws, run) == [model_id] and model_id.startswith("m-"), uri


def test_signature_mismatch_fails_the_step_in_prepare_naming_the_columns(ws, tmp_path, registered) -> None:
    _, reference = registered
    table = _table(200).rename(columns={"c": "extra_col"})
    pipeline_run = Experiment(ws, "parallel-model-bad").submit(_pipeline(ws, tmp_path, table, reference))

    assert pipeline_run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    step = next(s for s in pipeline_run.get_steps() if s.name == "score")
    assert step.get_status() == "Failed"
    error = step.get_details()["error"]["error"]["message"]
    assert "missing columns ['c'], extra columns ['extra_col']" in error
    assert not any(n.startswith("logs/sys/node/") for n in step.get_file_names())  # no node task ran
