"""Steps on Kubernetes / Docker compute targets become pod / container tasks.

No Kubernetes cluster or Docker engine runs here (none exists on this machine): the built
operators' fields are checked as Airflow would hand them to the provider, and the container's
command itself (`python -m aml_bridge.execution.step_task TASK`) is run on the host, for real,
against a real pipeline run — what the image would execute.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from aml_bridge import Workspace, settings
from aml_bridge.execution import start_pipeline_run
from aml_bridge.execution.step_task import encode
from aml_bridge.pipeline import EstimatorStep, Pipeline, PythonScriptStep
from aml_bridge.train import Environment, Estimator, RunConfiguration
from tests.provider.helpers import script

TARGETS = {"k8s": {"type": "Kubernetes", "namespace": "ml", "cpu": "2", "memory": "8Gi"},
           "box": {"type": "Docker", "docker_url": "unix:///var/run/docker.sock", "memory": "4g"}}


def _pipeline(ws, src):
    script(src, "train.py", "run.log('trained', 1)\n")
    estimator = Estimator(str(src), compute_target="k8s", vm_size="x", entry_script="train.py", use_gpu=True,
                          custom_docker_image="registry.local/train:1", environment_variables={"MODE": "fast"})
    on_k8s = EstimatorStep("train", estimator=estimator, estimator_entry_script_arguments=["--epochs", 2])
    runconfig = RunConfiguration()
    runconfig.environment = Environment("scoring")
    runconfig.environment.docker.base_image = "registry.local/score:2"
    runconfig.environment.docker.shm_size = "1g"
    on_docker = PythonScriptStep("train.py", name="score", source_directory=str(src), compute_target="box",
                                 runconfig=runconfig)
    on_docker.run_after(on_k8s)
    return Pipeline(ws, [on_docker])


def test_pod_and_container_operators_carry_image_command_env_and_gpu(tmp_path, shared_home):
    from airflow_provider import pipeline_dag
    from airflow_provider.containers import DockerStepOperator, KubernetesStepOperator, container_task

    ws = Workspace(config=settings.resolve({"compute_targets": TARGETS}, home=shared_home))
    pipeline = _pipeline(ws, tmp_path / "src")
    dag = pipeline_dag(pipeline, dag_id="containers")

    pod = dag.get_task("train")
    assert isinstance(pod, KubernetesStepOperator)
    assert pod.image == "registry.local/train:1" and pod.namespace == "ml"
    assert pod.cmds == ["python"] and pod.arguments == ["-m", "aml_bridge.execution.step_task"]
    env = pod.env_vars  # a dict until the provider builds the pod spec
    assert env["MODE"] == "fast" and env["MLFLOW_TRACKING_URI"] == ws.config.tracking_uri
    limits = pod.container_resources.limits
    assert limits == {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"}
    assert pod.container_resources.requests == {"cpu": "2", "memory": "8Gi"}
    assert pod.do_xcom_push is True

    box = dag.get_task("score")
    assert isinstance(box, DockerStepOperator)
    assert box.image == "registry.local/score:2" and box.command == ["python", "-m", "aml_bridge.execution.step_task"]
    assert box.environment["MLFLOW_TRACKING_URI"] == ws.config.tracking_uri
    assert box.device_requests is None  # no use_gpu here
    assert box.shm_size == 1024**3 and box.mem_limit == "4g" and box.docker_url == "unix:///var/run/docker.sock"
    assert dag.get_task("score").upstream_task_ids == {"train"}

    gpu_step = next(s for s in pipeline.plan().steps if s.task_id == "train")  # use_gpu, on a Docker target
    on_docker = container_task(gpu_step, None, {"workspace": {"tracking_uri": "http://127.0.0.1:5000"}}, "box",
                               TARGETS["box"])
    assert on_docker.image == "registry.local/train:1"
    assert on_docker.device_requests[0]["Capabilities"] == [["gpu"]] and on_docker.device_requests[0]["Count"] == -1


def test_the_container_command_runs_the_step(ws, tmp_path, shared_home, monkeypatch):
    """What the image runs, run on the host: the step run is created, executed and reported."""
    monkeypatch.setenv("AML_BRIDGE_HOME", shared_home)
    pipeline = _pipeline(ws, tmp_path / "src")
    plan = pipeline.plan()
    pipeline_run = start_pipeline_run(ws, "container-entry", "containers", "manual__1", {}, tags={})
    step = next(s for s in plan.steps if s.task_id == "train")
    task = {"workspace": dataclasses.asdict(ws.config), "step": dataclasses.asdict(step),
            "pipeline_run_id": pipeline_run._backend_id, "parameters": {}, "upstream": {},
            "regenerate_outputs": True, "map_index": -1, "try_number": 1}

    done = subprocess.run([sys.executable, "-m", "aml_bridge.execution.step_task", encode(task),
                           "--xcom-file", str(tmp_path / "return.json")], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert json.loads((tmp_path / "return.json").read_text()) == result
    steps = {s.name: s for s in pipeline_run.get_steps()}
    assert steps["train"].id == result["aml_run_id"] and steps["train"].get_status() == "Completed"
    assert steps["train"].get_metrics() == {"trained": 1}
