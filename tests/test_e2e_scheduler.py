"""End to end under the real scheduler: API server, scheduler and DAG processor with the
LocalExecutor and a PostgreSQL metadata DB on 127.0.0.1; runs are triggered through the REST API.

One cluster serves every check of this module (it costs ~30 s to start).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from aml_bridge import Run, Workspace, settings
from tests.support.airflow_cluster import AirflowCluster
from tests.support.airflow_env import PASSWORD, USERNAME, process_env, run_airflow

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


# Triggering and schedules are about starting a published pipeline with its parameters, not about its
# steps: a one-step definition with a parameter keeps those scenarios short (the example's four steps run
# under the scheduler in the other scenarios; the published example is listed and refuses bad input).
TINY_DEFINITION = textwrap.dedent('''
    """A one-step pipeline definition with one parameter, published for the trigger and schedule scenarios."""
    import os

    from aml_bridge import Workspace
    from aml_bridge.pipeline import Pipeline, PipelineParameter, PythonScriptStep

    here = os.path.dirname(os.path.abspath(__file__))
    test_size = PipelineParameter(name="test_size", default_value=0.25)
    step = PythonScriptStep("hello.py", name="hello", arguments=["--test-size", test_size],
                            source_directory=os.path.join(here, "scripts"), allow_reuse=False)
    pipeline = Pipeline(Workspace.from_config(), [step])
''')

HELLO = textwrap.dedent('''
    import sys

    from azureml.core import Run
    run = Run.get_context()
    run.log("hello", 1)
    run.log("test_size", float(sys.argv[sys.argv.index("--test-size") + 1]))
''')


CRASH_DAG = "aml_parallel_crash"
CRASH_DAG_FILE = textwrap.dedent('''
    """A ParallelRunStep on 2 nodes x 2 processes whose entry script SIGKILLs its node's Airflow task once."""
    import os

    from aml_bridge import Workspace
    from aml_bridge.data import Dataset
    from aml_bridge.parallel import ParallelRunConfig, ParallelRunStep
    from aml_bridge.pipeline import Pipeline, PipelineData
    from aml_bridge.train import Environment
    from airflow_provider import pipeline_dag

    here = os.path.dirname(os.path.abspath(__file__))
    ws = Workspace.from_config()
    config = ParallelRunConfig(environment=Environment("crash"), entry_script="crash_score.py",
                               source_directory=os.path.join(here, "crash"), error_threshold=-1,
                               output_action="append_row", compute_target="cpu", node_count=2,
                               process_count_per_node=2, mini_batch_size=2, run_invocation_timeout=60,
                               environment_variables={"CRASH_DIR": here})
    out = PipelineData("lines", datastore=ws.get_default_datastore())
    step = ParallelRunStep("crash-score", config, inputs=[Dataset.File.from_files(os.path.join(here, "crash_data"))
                           .as_named_input("files")], output=out, allow_reuse=False)
    dag = pipeline_dag(Pipeline(ws, [step]), dag_id="aml_parallel_crash")
''')

CRASH_SCORE = textwrap.dedent('''
    import json, os, signal, time

    def _note(**kw):
        with open(os.path.join(os.environ["CRASH_DIR"], "crash_side.log"), "a") as fh:
            fh.write(json.dumps({"node": os.environ.get("AML_BRIDGE_NODE_ID"), **kw}) + "\\n")

    def run(mini_batch):
        names = [os.path.basename(p) for p in mini_batch]
        _note(event="run", files=names)
        marker = os.path.join(os.environ["CRASH_DIR"], "crashed")
        if "f17.txt" in names and not os.path.exists(marker):
            open(marker, "w").close()
            with open(f"/proc/{os.getppid()}/stat") as fh:  # worker -> node driver -> the Airflow task
                task_pid = int(fh.read().rsplit(")", 1)[1].split()[1])
            os.kill(task_pid, signal.SIGKILL)
            time.sleep(60)
        time.sleep(0.1)
        return names
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
    (dags / "crash").mkdir()
    (dags / "crash" / "crash_score.py").write_text(CRASH_SCORE)
    (dags / "crash_data").mkdir()
    for i in range(40):
        (dags / "crash_data" / f"f{i:02d}.txt").write_text(str(i))
    (dags / "parallel_crash.py").write_text(CRASH_DAG_FILE)
    (dags / "tiny" / "scripts").mkdir(parents=True)
    (dags / "tiny" / "pipeline.py").write_text(TINY_DEFINITION)
    (dags / "tiny" / "scripts" / "hello.py").write_text(HELLO)
    with AirflowCluster(tmp / "cluster", dags, {"AML_BRIDGE_HOME": str(home)},
                        dag_ids=("aml_example_pipeline", KILL_DAG, CRASH_DAG)) as running:
        yield running


@pytest.fixture(scope="module")
def ws(home) -> Workspace:
    return Workspace(config=settings.resolve(home=str(home)))


def _publish(cluster, home, definition: str, name: str) -> str:
    """`aml-bridge pipeline publish` of a definition file, run with the cluster's environment."""
    cli = str(Path(sys.executable).with_name("aml-bridge"))
    result = subprocess.run([cli, "pipeline", "publish", definition, "--name", name, "--version", "1"],
                            env=process_env({**cluster.env, "AML_BRIDGE_HOME": str(home)}), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return re.search(rf"Published pipeline {name} \(([0-9a-f-]{{36}})\)", result.stdout).group(1)


@pytest.fixture(scope="module")
def published_id(cluster, home) -> str:
    """The example, published."""
    return _publish(cluster, home, str(cluster.dags_folder / "example" / "pipeline.py"), "wine-published")


@pytest.fixture(scope="module")
def tiny_published_id(cluster, home) -> str:
    """A one-step pipeline with a `test_size` parameter, published (for triggering and the schedules)."""
    return _publish(cluster, home, str(cluster.dags_folder / "tiny" / "pipeline.py"), "tiny-published")


@pytest.fixture(scope="module")
def remote_ws(cluster, home) -> Workspace:
    """A client workspace that reaches the cluster: PublishedPipeline.submit goes through its REST trigger."""
    return Workspace(config=settings.resolve({"airflow_url": cluster.base_url, "airflow_username": USERNAME,
                                              "airflow_password": PASSWORD, "dags_folder": str(cluster.dags_folder)},
                                             home=str(home)))


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
    # the model-scoring parallel node: 2 mapped node tasks under the real scheduler, every held-out row scored once
    nodes = cluster.api("GET", f"/api/v2/dags/aml_example_pipeline/dagRuns/{run_id}/taskInstances"
                               "?task_id=batch-score__nodes")
    mapped = [t for t in nodes["task_instances"] if t["task_id"] == "batch-score__nodes"]
    assert sorted(t["map_index"] for t in mapped) == [0, 1] and {t["state"] for t in mapped} == {"success"}
    scores = steps["batch-score"].get_output_data("scores").download(str(ws.config.home) + "/scores", overwrite=True)
    lines = (Path(scores) / "parallel_run_step.txt").read_text().splitlines()
    assert len(lines) == steps["prepare"].get_metrics()["test_rows"]
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


def test_sigkilled_node_task_is_retried_and_resumes(cluster, ws):
    """SIGKILL the Airflow task of one node mid-step: Airflow retries it, the retry resumes from the ledger."""
    dags = Path(cluster.dags_folder)
    run_id = cluster.trigger(CRASH_DAG)
    assert cluster.wait(CRASH_DAG, run_id, timeout=600) == "success", cluster.diagnostics()
    assert (dags / "crashed").exists()
    found = cluster.api("GET", f"/api/v2/dags/{CRASH_DAG}/dagRuns/{run_id}/taskInstances?task_id=crash-score__nodes")
    tries = {t["map_index"]: t["try_number"] for t in found["task_instances"] if t["task_id"] == "crash-score__nodes"}
    assert sorted(tries) == [0, 1] and max(tries.values()) == 2  # the killed node ran again
    step = next(iter(_pipeline_run(ws, CRASH_DAG, run_id).get_steps()))
    assert step.get_status() == "Completed"
    lines = (Path(step.get_output_data("lines").download(str(ws.config.home) + "/crash-out", overwrite=True))
             / "parallel_run_step.txt").read_text().splitlines()
    assert sorted(lines) == [f"f{i:02d}.txt" for i in range(40)]  # every line exactly once
    runs = [tuple(json.loads(line)["files"]) for line in (dags / "crash_side.log").read_text().splitlines()]
    rerun = {batch for batch in runs if runs.count(batch) > 1}
    assert ("f16.txt", "f17.txt") in rerun and len(rerun) <= 2  # only what the killed node had in flight

def _run_count(cluster, dag_id) -> int:
    return cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=1")["total_entries"]


def test_published_pipeline_runs_through_submit_and_azure_rest_body(cluster, remote_ws, published_id,
                                                                   tiny_published_id):
    from airflow_provider.pipeline_service import wait_for_pipeline_run
    from aml_bridge.pipeline import PublishedPipeline

    example = PublishedPipeline.get(remote_ws, published_id)
    published = PublishedPipeline.get(remote_ws, tiny_published_id)
    cluster.wait_for_dag(example.dag_id)
    cluster.wait_for_dag(published.dag_id)
    listed = run_airflow(cluster.env, "dags", "list", "-o", "json")
    dags = json.loads(listed.stdout.strip().splitlines()[-1])  # the CLI may log a warning line first
    assert {example.dag_id, published.dag_id} <= {d["dag_id"] for d in dags}  # `airflow dags list`

    submitted = published.submit(remote_ws, "wine-published", pipeline_parameters={"test_size": 0.3})
    path = published.endpoint[len(cluster.base_url):]
    status, answer = cluster._request("POST", path, {"ExperimentName": "wine-rest",
                                                     "ParameterAssignments": {"test_size": 0.35}})
    assert status == 200, answer
    posted = wait_for_pipeline_run(remote_ws.config, answer["Id"])  # the start task created it under that id
    for run, experiment, test_size in ((submitted, "wine-published", 0.3), (posted, "wine-rest", 0.35)):
        assert run.wait_for_completion(show_output=False, timeout_seconds=600) == "Completed", cluster.diagnostics()
        assert run.experiment.name == experiment
        (step,) = run.get_steps()
        assert step.name == "hello" and step.get_metrics()["test_size"] == test_size


def test_rest_trigger_refuses_bad_input_and_triggers_nothing(cluster, remote_ws, published_id):
    from aml_bridge.pipeline import PublishedPipeline

    published = PublishedPipeline.get(remote_ws, published_id)
    cluster.wait_for_dag(published.dag_id)
    path = published.endpoint[len(cluster.base_url):]
    before = _run_count(cluster, published.dag_id)
    good = {"ExperimentName": "wine-rest", "ParameterAssignments": {}}
    cases = [
        (path, {"ExperimentName": "wine-rest", "ParameterAssignments": {"test_sise": 0.1}}, True, 400, "test_sise"),
        (path, {"ExperimentName": "wine-rest", "ParameterAssignments": {"test_size": "big"}}, True, 400, "test_size"),
        (path, {"ParameterAssignments": {}}, True, 400, "ExperimentName"),
        (path, {"ExperimentName": "bad name!"}, True, 400, "Experiment name"),
        (path, {"ExperimentName": "wine-rest", "Bogus": 1}, True, 400, "Bogus"),
        (path.replace(published_id, "00000000-0000-0000-0000-000000000000"), good, True, 404, "not found"),
        (path, good, False, 401, "Not authenticated"),
    ]
    for url, body, auth, expected, words in cases:
        status, answer = cluster._request("POST", url, body, auth=auth)
        assert (status, words in str(answer)) == (expected, True), (body, status, answer)

    from aml_bridge.pipeline import PipelineEndpoint

    endpoint = PipelineEndpoint.publish(remote_ws, "wine-endpoint", "wine pipelines", published)
    endpoint_path = endpoint.endpoint[len(cluster.base_url):]
    cluster.api("PATCH", f"/api/v2/dags/{published.dag_id}", {"is_paused": True})  # the run waits, queued
    status, answer = cluster._request("POST", endpoint_path, {"ExperimentName": "wine-endpoint", "PipelineVersion": 0,
                                                              "ParameterAssignments": {"test_size": 0.2}})
    assert status == 200, answer
    dag_run_path = f"/api/v2/dags/{published.dag_id}/dagRuns/{quote(answer['DagRunId'], safe='')}"
    conf = cluster.api("GET", dag_run_path)["conf"]
    assert conf["test_size"] == 0.2
    assert conf["_aml_bridge"]["run_id"] == answer["Id"] and conf["_aml_bridge"]["experiment_name"] == "wine-endpoint"
    cluster.api("DELETE", dag_run_path)
    cluster.api("PATCH", f"/api/v2/dags/{published.dag_id}", {"is_paused": False})
    status, answer = cluster._request("POST", endpoint_path, {**good, "PipelineVersion": "5"})
    assert status == 400 and "has no version 5" in str(answer), answer
    endpoint.disable()
    status, answer = cluster._request("POST", endpoint_path, good)
    assert status == 400 and "is disabled" in str(answer), answer

    published.disable()  # pauses the DAG in Airflow too
    try:
        assert cluster.api("GET", f"/api/v2/dags/{published.dag_id}")["is_paused"] is True
        status, answer = cluster._request("POST", path, good)
        assert status == 400 and "is disabled" in str(answer)
    finally:
        published.enable()
    assert cluster.api("GET", f"/api/v2/dags/{published.dag_id}")["is_paused"] is False
    assert _run_count(cluster, published.dag_id) == before


def test_schedules_are_served_by_the_dag_processor_and_scheduler(cluster, remote_ws, tiny_published_id):
    """The recurrence timetable and the data-change asset survive serialization in the real DAG processor
    (the provider's plugin registers the timetable there) and the scheduler computes the next fire time."""
    from aml_bridge.pipeline import Schedule, ScheduleRecurrence

    recurrence = ScheduleRecurrence("Week", 1, "2030-01-01T09:00:00", "W. Europe Standard Time",
                                    week_days=["Monday"], hours=[9], minutes=[30])
    weekly = Schedule.create(remote_ws, "e2e-weekly", tiny_published_id, "wine-scheduled", recurrence=recurrence)
    data = Schedule.create(remote_ws, "e2e-data", tiny_published_id, "wine-data", datastore=remote_ws.get_default_datastore(),
                           path_on_datastore="e2e-incoming", polling_interval=60)
    dag = cluster.wait_for_dag(weekly.dag_id)
    assert dag["timetable_summary"].startswith("Azure recurrence: every 1 week(s)")
    assert dag["next_dagrun_run_after"].startswith("2030-01-07T08:30:00")  # first Monday, 09:30 CET
    watcher = f"{data.dag_id}_watch"
    cluster.wait_for_dag(watcher)
    details = cluster.api("GET", f"/api/v2/dags/{data.dag_id}/details")
    assert f"aml_bridge_schedule_{data.id}" in json.dumps(details["asset_expression"])
    assert "airflow_password" not in json.dumps(data._record)

    # The watcher polls once at creation: nothing changed since Schedule.create, so it skips.
    polled = _await_runs(cluster, watcher, 1)
    assert cluster.wait(watcher, polled) == "success"
    assert cluster.task_states(watcher, polled) == {"aml_datastore_watch": "skipped"}
    # A file appears: the next poll (triggered here instead of waiting an hour) fires the pipeline once.
    incoming = Path(remote_ws.get_default_datastore().backend.local_path("e2e-incoming"))
    incoming.mkdir(parents=True, exist_ok=True)
    (incoming / "new.csv").write_text("x\n1\n")
    first = cluster.trigger(watcher)
    assert cluster.wait(watcher, first) == "success"
    assert cluster.task_states(watcher, first) == {"aml_datastore_watch": "success"}
    fired = _await_runs(cluster, data.dag_id, 1)
    assert cluster.wait(data.dag_id, fired, timeout=600) == "success", cluster.diagnostics()
    assert data.get_last_pipeline_run().get_status() == "Completed"
    assert data.get_last_pipeline_run().experiment.name == "wine-data"
    # No change: the watcher skips and nothing else runs.
    again = cluster.trigger(watcher)
    assert cluster.wait(watcher, again) == "success"
    assert cluster.task_states(watcher, again) == {"aml_datastore_watch": "skipped"}
    time.sleep(5)
    assert _run_count(cluster, data.dag_id) == 1
    for schedule in (weekly, data):
        schedule.disable()
    paused = {d: cluster.api("GET", f"/api/v2/dags/{d}")["is_paused"]
              for d in (weekly.dag_id, data.dag_id, f"{data.dag_id}_watch")}
    assert paused == dict.fromkeys(paused, True)
    assert {s.id for s in Schedule.list(remote_ws)}.isdisjoint({weekly.id, data.id})


def _last_run(cluster, dag_id) -> str:
    return cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=1")["dag_runs"][0]["dag_run_id"]


def _await_runs(cluster, dag_id, count, timeout=120) -> str:
    """The newest run id once `dag_id` has `count` runs (asset-triggered runs appear on their own)."""
    deadline = time.monotonic() + timeout
    while _run_count(cluster, dag_id) < count:
        assert time.monotonic() < deadline, f"{dag_id} has no run {count}\n{cluster.diagnostics()}"
        time.sleep(1)
    return _last_run(cluster, dag_id)
