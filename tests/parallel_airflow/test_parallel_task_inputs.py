"""What the parallel step's tasks read at run time, on real Airflow (`dag.test()`, tasks in this process).

The mapped node tasks read only the prepare task's `aml_bridge_prepared` XCom (the inputs were
resolved by the prepare task); a bad value submitted for a parameter-valued config field fails the
step naming the step, the field and the parameter.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

from aml_bridge import Experiment
from aml_bridge.parallel import ParallelRunConfig, ParallelRunStep
from aml_bridge.pipeline import Pipeline, PipelineData, PipelineParameter, PythonScriptStep
from aml_bridge.train import Environment

MAKE = '''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
for i in range(6):
    with open(os.path.join(a.out, f"f{i}.txt"), "w") as fh:
        fh.write(str(i))
'''

ENTRY = '''
import os

def init():
    pass

def run(mini_batch):
    return [f"{os.path.basename(p)}:{open(p).read()}" for p in mini_batch]
'''


def _pipeline(ws, tmp_path: Path, node_count=2) -> Pipeline:
    """make (a PythonScriptStep writing 6 files) -> score (a ParallelRunStep reading them)."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "make.py").write_text(textwrap.dedent(MAKE))
    (src / "score.py").write_text(textwrap.dedent(ENTRY))
    files = PipelineData("files", datastore=ws.get_default_datastore()).as_dataset()
    make = PythonScriptStep("make.py", name="make", source_directory=str(src), outputs=[files],
                            arguments=["--out", files], allow_reuse=False)
    config = ParallelRunConfig(environment=Environment("batch"), entry_script="score.py", source_directory=str(src),
                               error_threshold=-1, output_action="append_row", compute_target="cpu-cluster",
                               node_count=node_count, process_count_per_node=1, mini_batch_size=2)
    score = ParallelRunStep("score", config, inputs=[files.as_named_input("files")],
                            output=PipelineData("scores", datastore=ws.get_default_datastore()), allow_reuse=False)
    return Pipeline(ws, [make, score])


@pytest.fixture
def pulls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object, str]]:
    """Every `ti.xcom_pull` of the DAG run's tasks as (pulling task, task_ids, key); the pull still happens."""
    seen: list[tuple[str, object, str]] = []
    original = RuntimeTaskInstance.xcom_pull

    def recording(self, task_ids=None, dag_id=None, key="return_value", *args, **kwargs):
        seen.append((self.task_id, task_ids, key))
        return original(self, task_ids, dag_id, key, *args, **kwargs)

    monkeypatch.setattr(RuntimeTaskInstance, "xcom_pull", recording)
    return seen


def test_node_tasks_pull_only_the_prepared_xcom(ws, tmp_path, pulls) -> None:
    pipeline_run = Experiment(ws, "parallel-node-xcoms").submit(_pipeline(ws, tmp_path))
    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"

    by_task: dict[str, set] = {}
    for task, task_ids, key in pulls:
        by_task.setdefault(task, set()).add((task_ids, key))
    assert ("make", "return_value") in by_task["score__prepare"]  # the prepare task reads its upstream step
    # Nothing from the start task or from `make`: the prepared XCom, and the node index Airflow's mapping reads.
    assert by_task["score__nodes"] == {("score__prepare", "aml_bridge_prepared"), ("score__prepare", "return_value")}
    assert [key for task, _, key in pulls if task == "score__nodes"].count("aml_bridge_prepared") == 2  # 2 nodes


def test_bad_submitted_parameter_value_fails_the_step_naming_step_field_and_parameter(ws, tmp_path) -> None:
    pipeline = _pipeline(ws, tmp_path, node_count=PipelineParameter("nodes", 1))
    pipeline_run = Experiment(ws, "parallel-bad-value").submit(pipeline, pipeline_parameters={"nodes": 0})

    assert pipeline_run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    step = next(s for s in pipeline_run.get_steps() if s.name == "score")
    assert step.get_status() == "Failed"
    message = step.get_details()["error"]["error"]["message"]
    assert message.startswith("Step [score]: node_count takes pipeline parameter 'nodes'")
    assert "must be an integer greater than 0, got 0" in message
