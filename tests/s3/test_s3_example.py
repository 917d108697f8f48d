"""The example pipeline (examples/pipeline, unchanged) with its datastore and MLflow artifact root on
S3 — switched by a workspace config file alone (`AML_BRIDGE_CONFIG`), run under `dag.test()`."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from aml_bridge import Experiment, Model, Run, Workspace
from aml_bridge.cli import main
from tests.support.s3_endpoint import keys, s3_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline"


@pytest.fixture
def s3_config(tmp_path, bucket, s3_endpoint, monkeypatch) -> Path:
    """The example's own config plus two S3 settings: the default datastore and the artifact root."""
    values = json.loads((EXAMPLE / "aml-bridge.json").read_text())
    values.update(home=str(tmp_path / "home"), artifact_root=f"s3://{bucket}/mlflow",
                  datastores={"workspaceblobstore": s3_store(s3_endpoint, bucket, "data")})
    path = tmp_path / "s3-workspace.json"
    path.write_text(json.dumps(values))
    monkeypatch.setenv("AML_BRIDGE_CONFIG", str(path))
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL", raising=False)
    return path


def test_example_pipeline_on_s3(s3_config, s3, bucket, tmp_path, monkeypatch):
    log = tmp_path / "run.log"
    assert main(["pipeline", "run", str(EXAMPLE / "pipeline.py"), "--log-file", str(log)]) == 0, \
        log.read_text()[-4000:]
    ws = Workspace.from_config()
    assert ws.get_default_datastore().backend.uri() == f"s3://{bucket}/data"
    (run,) = Experiment(ws, "wine-pipeline").get_runs()
    pipeline_run = Run.get(ws, run.id)
    assert pipeline_run.get_status() == "Completed"
    steps = {s.name: s for s in pipeline_run.get_steps()}
    assert steps["evaluate"].get_metrics()["accuracy"] > 0.85

    stored = keys(s3, bucket)
    prepare_id, train_id = steps["prepare"].id, steps["train"].id
    assert {f"data/azureml/{prepare_id}/prepared_data/train.csv",
            f"data/azureml/{train_id}/model_dir/model.pkl"} <= set(stored)
    score_id = steps["batch-score"].id  # the model-scoring node: tabular input from S3, output uploaded to S3
    key = f"data/azureml/{score_id}/scores/parallel_run_step.txt"
    assert key in stored
    assert len(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()) == 45
    artifacts = [k for k in stored if k.startswith("mlflow/")]
    assert any(k.endswith("/outputs/model/MLmodel") for k in artifacts)  # the MLflow model the node scored
    assert any(k.endswith("/user_logs/std_log.txt") for k in artifacts)
    assert not (Path(ws.config.home) / "artifacts").exists()  # nothing went to the local artifact folder

    folder = Path(steps["prepare"].get_output_data("prepared_data").download(str(tmp_path / "dl")))
    assert len(pd.read_csv(folder / "test.csv")) == 45
    monkeypatch.chdir(tmp_path)
    path = Model.get_model_path("wine-classifier", _workspace=ws)  # downloaded from the S3 artifact root
    X, y = load_wine(return_X_y=True, as_frame=True)
    assert (mlflow.pyfunc.load_model(path).predict(X) == y).mean() > 0.9
