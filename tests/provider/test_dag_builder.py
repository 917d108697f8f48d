"""The DAG a pipeline becomes (no execution): tasks, edges, params, hooks, provider metadata."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider.dag_builder import pipeline_dag
from airflow_provider.provider_info import get_provider_info
from aml_bridge import hookimpl
from aml_bridge.pipeline import Pipeline, PipelineData, PipelineParameter, PythonScriptStep
from aml_bridge.plugins import build_plugin_manager, set_plugin_manager
from tests.provider.helpers import script


@pytest.fixture
def two_steps(ws, tmp_path):
    src = tmp_path / "src"
    script(src, "prep.py", "pass\n")
    script(src, "train.py", "pass\n")
    data = PipelineData("prepared", datastore=ws.get_default_datastore())
    lr = PipelineParameter("lr", default_value=0.5)
    _prep = PythonScriptStep("prep.py", source_directory=str(src), outputs=[data], arguments=["--out", data])
    train = PythonScriptStep("train.py", source_directory=str(src), inputs=[data], arguments=["--in", data, lr])
    return Pipeline(ws, [train])


def test_dag_shape(two_steps):
    dag = pipeline_dag(two_steps, "shape", tags=["ml"])
    assert set(dag.task_ids) == {"aml_pipeline_start", "prep.py", "train.py", "aml_pipeline_end"}
    assert dag.get_task("train.py").upstream_task_ids == {"prep.py"}
    assert dag.get_task("prep.py").upstream_task_ids == {"aml_pipeline_start"}
    assert dag.get_task("aml_pipeline_end").upstream_task_ids >= {"prep.py", "train.py"}
    assert dag.get_task("aml_pipeline_end").trigger_rule == "all_done"
    assert dag.params["lr"] == 0.5  # pipeline parameters are DAG params
    assert dag.tags == {"ml"} or list(dag.tags) == ["ml"]
    link_names = {link.name for link in dag.get_task("train.py").operator_extra_links}
    assert link_names == {"MLflow run", "MLflow pipeline run"}


def test_operator_xcom_and_arguments_are_plain_data(two_steps):
    task = pipeline_dag(two_steps, "plain").get_task("train.py")
    json.dumps(task.step)  # the step travels as JSON, never as Python objects
    json.dumps(task.pipeline)
    assert task.pipeline["experiment_name"] == "plain"


def test_hook_aml_step_to_task(two_steps):
    """A third-party plugin turns a step kind into its own operator through the hook."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    class Custom:
        @hookimpl(tryfirst=True)
        def aml_step_to_task(self, step, dag, pipeline):
            if step.name == "prep.py":
                return EmptyOperator(task_id=step.task_id, dag=dag)
            return None

    pm = build_plugin_manager()
    pm.register(Custom())
    set_plugin_manager(pm)
    try:
        dag = pipeline_dag(two_steps, "custom")
    finally:
        set_plugin_manager(None)
    assert type(dag.get_task("prep.py")).__name__ == "EmptyOperator"
    assert type(dag.get_task("train.py")).__name__ == "PythonScriptStepOperator"


def test_unknown_step_kind_fails_at_build(two_steps):
    step = two_steps.plan().steps[0]
    step.kind = "mystery"
    from airflow_provider.dag_builder import plan_dag
    from airflow_provider.operators import pipeline_settings

    plan = two_steps.plan()
    plan.steps[0].kind = "mystery"
    with pytest.raises(ValueError, match=r"Step \[prep.py\] has kind 'mystery'"):
        plan_dag(plan, pipeline_settings(two_steps.workspace, plan, "x", False, False), "x")


def test_invalid_definitions_fail_at_dag_build(ws, tmp_path):
    src = tmp_path / "src"
    script(src, "a.py", "pass\n")
    orphan = PipelineData("orphan", datastore=ws.get_default_datastore())
    consumer = PythonScriptStep("a.py", name="consumer", source_directory=str(src), inputs=[orphan],
                                arguments=["--in", orphan])
    with pytest.raises(ValueError, match=r"consumer.*orphan|orphan.*consumer"):
        pipeline_dag(Pipeline(ws, [consumer]), "invalid")
    ghost = PythonScriptStep("missing.py", name="ghost", source_directory=str(src))
    with pytest.raises(ValueError, match=r"Step \[ghost\]: script not found"):
        pipeline_dag(Pipeline(ws, [ghost]), "invalid")


def test_provider_info_modules_import():
    info = get_provider_info()
    assert info["package-name"] == "aml-bridge"
    for dotted in info["extra-links"] + [c["hook-class-name"] for c in info["connection-types"]]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted
    for group in info["operators"] + info["hooks"]:
        for module in group["python-modules"]:
            importlib.import_module(module)


def test_airflow_sees_the_provider():
    airflow = str(Path(sys.executable).with_name("airflow"))
    listed = subprocess.run([airflow, "providers", "list", "-o", "json"], capture_output=True, text=True, check=True)
    assert "aml-bridge" in {p["package_name"] for p in json.loads(listed.stdout)}
    links = subprocess.run([airflow, "providers", "links", "-o", "json"], capture_output=True, text=True, check=True)
    assert "airflow_provider.links.MlflowRunLink" in links.stdout
    conns = subprocess.run([airflow, "providers", "hooks", "-o", "json"], capture_output=True, text=True, check=True)
    assert "aml_bridge" in conns.stdout


def test_hook_aml_submit_pipeline(two_steps):
    """`Experiment.submit(pipeline)` goes through the hook; a remote runner plugin wins over dag.test()."""
    from aml_bridge import Experiment

    seen = {}

    class RemoteRunner:
        @hookimpl(tryfirst=True)
        def aml_submit_pipeline(self, workspace, pipeline, submission):
            seen.update(experiment=submission.experiment_name, parameters=submission.parameters,
                        tags=submission.tags, regenerate=submission.regenerate_outputs)
            return "remote-run"

    pm = build_plugin_manager()
    pm.register(RemoteRunner())
    set_plugin_manager(pm)
    try:
        result = Experiment(two_steps.workspace, "remote").submit(
            two_steps, tags={"k": "v"}, pipeline_parameters={"lr": 0.1}, regenerate_outputs=True)
        with pytest.raises(Exception, match="Pipeline parameter with name nope does not exist"):
            two_steps.submit("remote", pipeline_parameters={"nope": 1})
    finally:
        set_plugin_manager(None)
    assert result == "remote-run"
    assert seen == {"experiment": "remote", "parameters": {"lr": 0.1}, "tags": {"k": "v"}, "regenerate": True}


def test_compute_target_maps_to_pool_and_queue(tmp_path):
    from aml_bridge import Workspace, settings

    config = tmp_path / "aml-bridge.json"
    config.write_text(json.dumps({"home": str(tmp_path / "home"),
                                  "compute_targets": {"cpu-cluster": {"pool": "cpu_pool", "queue": "cpu"}}}))
    ws = Workspace(config=settings.resolve(settings.read_config_file(config), config))
    src = tmp_path / "src"
    script(src, "a.py", "pass\n")
    on_cluster = PythonScriptStep("a.py", name="on_cluster", source_directory=str(src), compute_target="cpu-cluster")
    anywhere = PythonScriptStep("a.py", name="anywhere", source_directory=str(src))
    dag = pipeline_dag(Pipeline(ws, [on_cluster, anywhere]), "placement")
    assert (dag.get_task("on_cluster").pool, dag.get_task("on_cluster").queue) == ("cpu_pool", "cpu")
    assert dag.get_task("anywhere").pool == "default_pool"


def test_submit_refuses_to_run_while_airflow_parses(ws, tmp_path):
    """A definition script left in the DAGs folder must not run its pipeline at parse time."""
    from airflow.dag_processing.dagbag import DagBag

    src = tmp_path / "dags" / "src"
    script(src, "a.py", "pass\n")
    definition = tmp_path / "dags" / "azure_definition.py"
    definition.write_text(
        "# an Azure ML pipeline (the words airflow and dag make Airflow parse this file)\n"
        "from aml_bridge import Experiment, Workspace, settings\n"
        "from aml_bridge.pipeline import Pipeline, PythonScriptStep\n"
        f"ws = Workspace(config=settings.resolve(home={ws.config.home!r}))\n"
        f"step = PythonScriptStep('a.py', source_directory={str(src)!r})\n"
        "Experiment(ws, 'parsed').submit(Pipeline(ws, [step]))\n")
    bag = DagBag(dag_folder=str(definition))
    errors = "\n".join(str(e) for e in bag.import_errors.values())
    assert "while Airflow was parsing a DAG file" in errors and ".airflowignore" in errors
