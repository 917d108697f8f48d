"""Pipelines through real Airflow (`dag.test()` on an embedded metadata DB): run tree, data, parameters.

Checklist items 58, 61, 62 and 66 of AML_API §7, and the run-tree points of issue 3.
"""

from __future__ import annotations

import os

import pytest

from aml_bridge import Experiment
from aml_bridge.pipeline import Pipeline, PipelineData, PipelineParameter, PythonScriptStep
from tests.provider.helpers import script


@pytest.fixture
def sources(tmp_path):
    src = tmp_path / "src"
    script(src, "a.py", """
        p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--lr"); p.add_argument("--p")
        a = p.parse_args()
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "data.txt"), "w") as fh:
            fh.write("hello from a")
        run.log("started", time.time())
        run.log("lr_arg", a.lr)
        run.log("p_arg", a.p)
        run.log("lr_env", os.environ["AML_PARAMETER_lr"])
        run.log("p_env", os.environ["AML_PARAMETER_my_p"])
        run.log("out_is_abs", os.path.isabs(a.out))
        run.parent.log("from_step_a", 1)
        run.parent.tag("touched_by", "a")
    """)
    script(src, "b.py", """
        p = argparse.ArgumentParser(); p.add_argument("--inp"); a = p.parse_args()
        run.log("started", time.time())
        with open(os.path.join(a.inp, "data.txt")) as fh:
            run.log("read", fh.read())
        run.log("env_path_matches", os.environ["AZUREML_DATAREFERENCE_p1"] == a.inp)
    """)
    script(src, "c.py", """
        run.log("started", time.time())
    """)
    return src


def test_pipeline_run_tree_data_and_parameters(ws, sources):
    p1 = PipelineData("p1", datastore=ws.get_default_datastore())
    lr = PipelineParameter("lr", default_value=0.01)
    _a = PythonScriptStep("a.py", source_directory=str(sources), outputs=[p1], params={"my-p": "v"},
                         arguments=["--out", p1, "--lr", lr, "--p", "parameter:my-p"])
    b = PythonScriptStep("b.py", source_directory=str(sources), inputs=[p1], arguments=["--inp", p1])
    c = PythonScriptStep("c.py", source_directory=str(sources))
    c.run_after(b)
    pipeline = Pipeline(ws, [c])  # a and b come in through the closure (item 58)

    pipeline_run = Experiment(ws, "pipeline-tree").submit(pipeline, pipeline_parameters={"lr": 0.1},
                                                          tags={"team": "ml"})

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"  # a status string (item 66)
    steps = {s.name: s for s in pipeline_run.get_steps()}
    assert set(steps) == {"a.py", "b.py", "c.py"}
    assert all(s.get_status() == "Completed" for s in steps.values())
    metrics = {name: s.get_metrics() for name, s in steps.items()}
    assert metrics["a.py"]["started"] < metrics["b.py"]["started"] < metrics["c.py"]["started"]
    assert metrics["a.py"]["lr_arg"] == "0.1" and metrics["a.py"]["lr_env"] == "0.1"  # item 62
    assert metrics["a.py"]["p_arg"] == "v" and metrics["a.py"]["p_env"] == "v"  # item 61
    assert metrics["a.py"]["out_is_abs"] is True
    assert metrics["b.py"]["read"] == "hello from a" and metrics["b.py"]["env_path_matches"] is True
    assert pipeline_run.get_metrics() == {"from_step_a": 1}  # run.parent.log from a step
    assert pipeline_run.get_tags()["touched_by"] == "a"
    assert pipeline_run.get_tags()["team"] == "ml"  # submit tags exist before steps run

    found = pipeline_run.find_step_run("a.py")
    assert isinstance(found, list) and [s.id for s in found] == [steps["a.py"].id]
    assert steps["a.py"].parent.id == pipeline_run.id
    out = steps["a.py"].get_output_data("p1")
    folder = out.download(os.getcwd())
    assert open(os.path.join(folder, "data.txt")).read() == "hello from a"
    assert out.path_on_datastore.startswith("azureml/") and out.datastore_name == "workspaceblobstore"

    tags = steps["b.py"].get_tags()  # Airflow context tags on every run the bridge creates
    assert tags["airflow.task_id"] == "b.py" and tags["airflow.dag_id"] == "pipeline-tree"
    assert tags["airflow.try_number"] == "1" and tags["airflow.map_index"] == "-1"
    assert pipeline_run.get_tags()["airflow.task_id"] == "aml_pipeline_start"
    assert pipeline_run.type == "azureml.PipelineRun" and steps["b.py"].type == "azureml.StepRun"
