"""`EstimatorStep` in a pipeline: one Airflow task (real `dag.test()`), a step run like PythonScriptStep's,
in the estimator's environment (a venv with a package the host lacks)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aml_bridge import Experiment
from aml_bridge.pipeline import (
    EstimatorStep,
    Pipeline,
    PipelineData,
    PipelineDefinitionError,
    PythonScriptStep,
)
from aml_bridge.train import Estimator, Mpi
from tests.provider.helpers import script


def test_estimator_step_runs_as_one_task_in_the_run_tree(ws, tmp_path):
    from airflow_provider import pipeline_dag
    from airflow_provider.operators import EstimatorStepOperator

    src = tmp_path / "src"
    script(src, "prep.py", """
        p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
        os.makedirs(a.out, exist_ok=True)
        open(os.path.join(a.out, "n.txt"), "w").write("21")
    """)
    script(src, "train.py", """
        p = argparse.ArgumentParser(); p.add_argument("--data"); p.add_argument("--epochs", type=int)
        a = p.parse_args()
        run.log("doubled", 2 * int(open(os.path.join(a.data, "n.txt")).read()))
        run.log("epochs", a.epochs)
        run.log("mode", os.environ["MODE"])
        import toolz  # not on the host: the step ran in the estimator's environment
        run.log("toolz", toolz.__version__)
    """)
    prepared = PipelineData("prepared", datastore=ws.get_default_datastore())
    _prep = PythonScriptStep("prep.py", source_directory=str(src), outputs=[prepared], arguments=["--out", prepared])
    estimator = Estimator(str(src), compute_target="local", entry_script="train.py",
                          environment_variables={"MODE": "fast"}, max_run_duration_seconds=600,
                          pip_packages=["toolz==1.2.0"])
    train = EstimatorStep("train", estimator=estimator, inputs=[prepared],
                          estimator_entry_script_arguments=["--data", prepared, "--epochs", 3])
    pipeline = Pipeline(ws, [train])

    plan = pipeline.plan()
    assert [s.kind for s in plan.steps] == ["python_script", "estimator"]
    task = pipeline_dag(pipeline, dag_id="estimator_step_shape").get_task("train")
    assert isinstance(task, EstimatorStepOperator)
    assert task.execution_timeout == timedelta(seconds=600 + 60 + 600)  # limit + kill grace + allowance

    pipeline_run = Experiment(ws, "estimator-step").submit(pipeline)

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"
    steps = {s.name: s for s in pipeline_run.get_steps()}
    assert set(steps) == {"prep.py", "train"}
    assert steps["train"].parent.id == pipeline_run.id and steps["train"].type == "azureml.StepRun"
    assert steps["train"].get_metrics() == {"doubled": 42, "epochs": 3, "mode": "fast", "toolz": "1.2.0"}


def test_estimator_step_definition_errors(ws, tmp_path):
    (tmp_path / "t.py").write_text("")
    plain = Estimator(str(tmp_path), compute_target="local", entry_script="t.py")
    with pytest.raises(ValueError, match=r"Step \[s\]: estimator_entry_script_arguments is required"):
        EstimatorStep("s", estimator=plain)
    with pytest.raises(ValueError, match="estimator is required"):
        EstimatorStep("s", estimator_entry_script_arguments=[])
    with_params = Estimator(str(tmp_path), compute_target="local", entry_script="t.py", script_params={"--a": 1})
    with pytest.raises(ValueError, match="script_params must be empty"):
        EstimatorStep("s", estimator=with_params, estimator_entry_script_arguments=[])
    multi_node = Estimator(str(tmp_path), compute_target="cpu-cluster", entry_script="t.py", node_count=2,
                           distributed_training=Mpi())
    step = EstimatorStep("wide", estimator=multi_node, estimator_entry_script_arguments=[])
    with pytest.raises(PipelineDefinitionError, match=r"Step \[wide\]: node_count=2 cannot run"):
        Pipeline(ws, [step]).plan()
