"""Security scan: the configured S3 secret keys appear in no env dump, MLflow tag/param/artifact,
task log, stored record or error message.

Two secrets: the default datastore's (boto3's standard chain, a shared credentials file) and a
second datastore's, kept in an Airflow connection in Airflow's metadata DB. One pipeline run
(`dag.test()`): step `dump` reads a dataset on the connection's datastore from its own process and
prints its whole environment; step `broken` fails on an S3 error.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from aml_bridge import Experiment
from aml_bridge.data import Dataset, Datastore
from aml_bridge.pipeline import Pipeline, PythonScriptStep
from tests.provider.helpers import script
from tests.support.s3_endpoint import SECRET

CONN_ID = "aml_s3_private"
CONN_KEY_ID = "AKIAAMLBRIDGECONN0001"
CONN_SECRET = "aml-bridge-conn-secret-" + secrets.token_hex(12)


@pytest.fixture
def airflow_connection(s3_endpoint, ws):
    """An `aws` connection in the metadata DB (not in the environment, as deployments keep them)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    from airflow_provider.embedded import prepare_airflow_home

    prepare_airflow_home(ws.config.home)
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == CONN_ID).delete()
        session.add(Connection(conn_id=CONN_ID, conn_type="aws", login=CONN_KEY_ID, password=CONN_SECRET,
                               extra=json.dumps({"endpoint_url": s3_endpoint, "region_name": "us-east-1"})))
    yield CONN_ID
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == CONN_ID).delete()


@pytest.fixture
def ws(make_s3_ws, bucket):
    return make_s3_ws(bucket)


def _texts_of_runs(ws, experiment, folder: Path) -> list[str]:
    """Tags, params, metrics and every artifact's text of the pipeline run and its steps."""
    from mlflow import MlflowClient

    client = MlflowClient(ws.config.tracking_uri)
    found = []
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    for run in client.search_runs([experiment_id]):
        found.append(json.dumps([run.data.tags, run.data.params, run.data.metrics]))
        local = client.download_artifacts(run.info.run_id, "", str(folder / run.info.run_id))
        for path in Path(local).rglob("*"):
            if path.is_file():
                found.append(path.read_text(errors="replace"))
    return found


def test_secrets_appear_nowhere(ws, airflow_connection, s3, bucket, tmp_path, capfd):
    private = f"{bucket}-private"
    s3.create_bucket(Bucket=private)
    s3.put_object(Bucket=private, Key="tables/t.csv", Body=b"x\n1\n2\n3\n")
    store = Datastore.register_s3(ws, "private", bucket=private, connection_id=CONN_ID)
    Datastore.register_s3(ws, "broken", bucket=f"{bucket}-missing", connection_id=CONN_ID, max_attempts=1)
    table = Dataset.Tabular.from_delimited_files((store, "tables/*.csv"), validate=False)
    script(tmp_path / "src", "dump.py", """
        from azureml.core import Datastore
        for name, value in sorted(os.environ.items()):
            print(f"ENV {name}={value}")
        run.log("rows", len(run.input_datasets["private_table"].to_pandas_dataframe()))
        key_id = Datastore.get(run.experiment.workspace, "private").backend.client._get_credentials().access_key
        run.log("connection_key_used", key_id == sys.argv[1])
        run.add_properties({"env_names": ",".join(sorted(os.environ))[:400]})
        run.tag("credentials_file", os.environ.get("AML_BRIDGE_S3_CREDENTIALS", ""))
    """)
    script(tmp_path / "src", "broken.py", """
        from azureml.core import Datastore
        Datastore.get(run.experiment.workspace, "broken").download(os.getcwd(), prefix="x")
    """)
    dump = PythonScriptStep("dump.py", name="dump", source_directory=str(tmp_path / "src"), allow_reuse=False,
                            arguments=[CONN_KEY_ID], inputs=[table.as_named_input("private_table")])
    broken = PythonScriptStep("broken.py", name="broken", source_directory=str(tmp_path / "src"),
                              allow_reuse=False)
    run = Experiment(ws, "s3-secrets").submit(Pipeline(ws, [dump, broken]), continue_on_step_failure=True)
    printed = capfd.readouterr()

    steps = {s.name: s for s in run.get_steps()}
    assert steps["dump"].get_status() == "Completed", steps["dump"].get_details()
    assert steps["dump"].get_metrics() == {"rows": 3, "connection_key_used": True}
    handed = steps["dump"].get_tags()["credentials_file"]
    assert handed and not os.path.exists(handed)  # the private file is gone after the step
    assert f"ENV AML_BRIDGE_S3_CREDENTIALS={handed}" in steps["dump"].get_job_log()  # the dump is real
    assert steps["broken"].get_status() == "Failed"
    error = json.dumps(steps["broken"].get_details()["error"])
    assert "NoSuchBucket" in error and "S3 datastore 'broken'" in error

    texts = [printed.out, printed.err, error, *_texts_of_runs(ws, "s3-secrets", tmp_path / "artifacts")]
    airflow_logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    texts += [p.read_text(errors="replace") for p in airflow_logs.rglob("*") if p.is_file()]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    texts += [s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode(errors="replace")
              for page in pages for o in page.get("Contents", [])]
    assert len(texts) > 10
    for secret in (SECRET, CONN_SECRET):
        leaks = [t[max(0, t.find(secret) - 200):t.find(secret) + 50] for t in texts if secret in t]
        assert leaks == [], f"secret found: {leaks[:2]}"
