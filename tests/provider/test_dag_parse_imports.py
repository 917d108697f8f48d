"""What a DAG file built with `pipeline_dag_from_file` imports at parse time (issue 3's regression guard).

Airflow's DAG processor re-parses every DAG file constantly, so modules needed only when a task runs
(step execution, the parallel driver, publishing and schedules, the v2 parallel API, the MLflow store)
must not load while the DAG is built. The check runs where the DAG processor would: a process that
has already imported Airflow and built a DAG, so what Airflow itself loads (yaml, zoneinfo,
packaging, sqlalchemy) is not counted. Not a timing test: bench/dag_parse.py measures the time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

NOT_AT_PARSE = (
    "mlflow", "boto3", "botocore", "pandas", "numpy",
    "aml_bridge.execution", "aml_bridge.launcher", "aml_bridge.processes", "aml_bridge.train.environments",
    "aml_bridge.parallel.driver", "aml_bridge.parallel.ledger", "aml_bridge.parallel.manifest",
    "aml_bridge.parallel.worker", "aml_bridge.parallel.node", "aml_bridge.parallel.progress",
    "aml_bridge.parallel.model_task", "aml_bridge.parallel.v2",
    "aml_bridge.pipeline.published", "aml_bridge.pipeline.publishing", "aml_bridge.pipeline.schedule",
    "aml_bridge.pipeline.recurrence", "aml_bridge.pipeline.resolve",
    "airflow_provider.embedded", "airflow_provider.containers", "airflow_provider.pipeline_service",
    "airflow_provider.published_dag", "airflow_provider.rest_trigger", "airflow_provider.timetables",
    "mlflow_plugin.store", "mlflow_plugin.journal", "mlflow_plugin.tables", "mlflow_plugin.context",
)

DEFINITION = """
from azureml.core import Environment, Experiment, Workspace
from azureml.core.runconfig import RunConfiguration
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep, PythonScriptStep

ws = Workspace.from_config()
run_config = RunConfiguration()
run_config.environment = Environment("env")
files = PipelineData("files", datastore=ws.get_default_datastore()).as_dataset()
make = PythonScriptStep(name="make", script_name="make.py", arguments=["--out", files], outputs=[files],
                        runconfig=run_config, source_directory=".", compute_target="cpu-cluster")
config = ParallelRunConfig(source_directory=".", entry_script="score.py", mini_batch_size="1KB", error_threshold=5,
                           output_action="append_row", environment=Environment("env"), compute_target="cpu-cluster",
                           node_count=PipelineParameter(name="nodes", default_value=2), process_count_per_node=2)
score = ParallelRunStep(name="score", parallel_run_config=config, inputs=[files.as_named_input("files")],
                        output=PipelineData("scores", datastore=ws.get_default_datastore()))
Experiment(ws, "parse-imports").submit(Pipeline(workspace=ws, steps=[score]))
"""

PARSE = """
import json, runpy, sys
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id="warm_up", schedule=None):  # what the DAG processor has loaded before parsing our file
    EmptyOperator(task_id="noop")
before = set(sys.modules)
dag = runpy.run_path(sys.argv[1])["dag"]
print(json.dumps({"tasks": sorted(dag.task_ids), "new": sorted(set(sys.modules) - before)}))
"""


def test_guarded_modules_exist() -> None:
    """A misspelt name would make the guard below pass for nothing."""
    missing = [name for name in NOT_AT_PARSE if importlib.util.find_spec(name) is None]
    assert missing == []


def test_dag_build_imports_no_run_time_module(tmp_path) -> None:
    (tmp_path / "make.py").write_text("")
    (tmp_path / "score.py").write_text("def run(mini_batch):\n    return mini_batch\n")
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(DEFINITION))
    (tmp_path / "aml-bridge.json").write_text(json.dumps({"home": str(tmp_path / "home")}))
    (tmp_path / "dag.py").write_text("import os\nfrom airflow_provider import pipeline_dag_from_file\n"
                                     "dag = pipeline_dag_from_file(os.path.join(os.path.dirname(__file__), "
                                     "'pipeline.py'), dag_id='parse_imports')\n")
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    done = subprocess.run([sys.executable, "-c", PARSE, str(tmp_path / "dag.py")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    built = json.loads(done.stdout.strip().splitlines()[-1])
    assert built["tasks"] == ["aml_pipeline_end", "aml_pipeline_start", "make", "score", "score__nodes",
                              "score__prepare"]
    loaded = [name for name in NOT_AT_PARSE if any(m == name or m.startswith(name + ".") for m in built["new"])]
    assert loaded == []
    assert "aml_bridge.parallel.step" in built["new"]  # the guard watches the process that built the DAG
