"""End to end under the real scheduler: API server, scheduler and DAG processor with the
LocalExecutor and a PostgreSQL metadata DB on 127.0.0.1; runs are triggered through the REST API.

One cluster serves every check of this module (it costs ~30 s to start).
"""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import pytest

from aml_bridge import Run, Workspace, settings
from tests.support.airflow_cluster import AirflowCluster

ROOT = Path(__file__).resolve().parents[1]
KILL_DAG = "aml_kill_check"

KILL_DAG_FILE = textwrap.dedent('''
    """A one-step pipeline whose script runs until it is killed."""
    import os

    from aml_bridge import Workspace
    from aml_bridge.pipeline import Pipeline, PythonScriptStep
    from airflow_provider import pipeline_dag

    here = os.path.dirname(os.path.abspath(__file__))
    step = PythonScriptStep("sleeper.py", source_directory=os.path.join(here, "sleeper"), allow_reuse=False)
    dag = pipeline_dag(Pipeline(Workspace.from_config(), [step]), dag_id="aml_kill_check")
''')

SLEEPER = textwrap.dedent('''
    import time
    from azureml.core import Run
    run = Run.get_context()
    run.log("started", 1)
    run.flush()
    print("sleeping until killed", flush=True)
    time.sleep(600)
''')


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-home")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, home):
    tmp = tmp_path_factory.mktemp("e2e")
    dags = tmp / "dags"
    shutil.copytree(ROOT / "examples" / "pipeline", dags / "example")
    (dags / "sleeper").mkdir(parents=True)
    (dags / "sleeper" / "sleeper.py").write_text(SLEEPER)
    (dags / "kill_check.py").write_text(KILL_DAG_FILE)
    with AirflowCluster(tmp / "cluster", dags, {"AML_BRIDGE_HOME": str(home)},
                        dag_ids=("aml_example_pipeline", KILL_DAG)) as running:
        yield running


@pytest.fixture(scope="module")
def ws(home) -> Workspace:
    return Workspace(config=settings.resolve(home=str(home)))


def _pipeline_run(ws, dag_id, run_id) -> Run:
    from airflow_provider.embedded import find_pipeline_run

    return find_pipeline_run(ws, None, dag_id, run_id)  # the experiment is the definition's own


def test_example_pipeline_under_the_scheduler(cluster, ws):
    run_id = cluster.trigger("aml_example_pipeline", {"test_size": 0.4})
    assert cluster.wait("aml_example_pipeline", run_id, timeout=600) == "success", cluster.diagnostics()
    pipeline_run = _pipeline_run(ws, "aml_example_pipeline", run_id)
    assert pipeline_run.get_status() == "Completed"
    assert pipeline_run.get_tags()["dataset"] == "sklearn-wine"  # the definition's submit(tags=...)
    steps = {s.name: s for s in pipeline_run.get_steps()}
    assert set(steps) == {"prepare", "train", "evaluate", "batch-score"}
    assert all(s.get_status() == "Completed" for s in steps.values())
    # the ParallelRunStep: 2 mapped node tasks under the real scheduler, every held-out row scored once
    nodes = cluster.api("GET", f"/api/v2/dags/aml_example_pipeline/dagRuns/{run_id}/taskInstances"
                               "?task_id=batch-score__nodes")
    mapped = [t for t in nodes["task_instances"] if t["task_id"] == "batch-score__nodes"]
    assert sorted(t["map_index"] for t in mapped) == [0, 1] and {t["state"] for t in mapped} == {"success"}
    scores = steps["batch-score"].get_output_data("scores").download(str(ws.config.home) + "/scores", overwrite=True)
    assert len((Path(scores) / "scores.txt").read_text().splitlines()) == steps["prepare"].get_metrics()["test_rows"]
    assert steps["evaluate"].get_metrics()["accuracy"] > 0.5
    assert steps["prepare"].get_metrics()["test_size"] == 0.4  # the conf reached the step
    prepared = steps["prepare"].get_output_data("prepared_data")
    folder = prepared.download(str(ws.config.home) + "/downloaded", overwrite=True)
    assert any(Path(folder).rglob("*.csv"))
    assert '"test_size": 0.4' in pipeline_run._refresh().tags["aml_bridge.parameters"]
    links = cluster.api("GET", f"/api/v2/dags/aml_example_pipeline/dagRuns/{run_id}/taskInstances/train/links")
    assert steps["train"]._backend_id in str(links) and pipeline_run._backend_id in str(links)


def test_killed_task_ends_its_run_canceled(cluster, ws):
    run_id = cluster.trigger(KILL_DAG)
    step_run = None
    deadline = time.time() + 240
    while time.time() < deadline and step_run is None:
        time.sleep(2)
        try:
            found = list(_pipeline_run(ws, KILL_DAG, run_id).get_steps())
        except RuntimeError:
            continue
        if found and found[0].get_metrics().get("started") == 1:
            step_run = found[0]
    assert step_run is not None, cluster.diagnostics()
    cluster.api("PATCH", f"/api/v2/dags/{KILL_DAG}/dagRuns/{run_id}/taskInstances/sleeper.py",
                {"new_state": "failed"})
    deadline = time.time() + 120
    while time.time() < deadline and step_run.get_status() != "Canceled":
        time.sleep(2)
    assert step_run.get_status() == "Canceled", cluster.diagnostics()
    assert cluster.wait(KILL_DAG, run_id, timeout=180) == "failed"
    assert _pipeline_run(ws, KILL_DAG, run_id).get_status() == "Failed"
