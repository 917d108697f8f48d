"""Pipelines whose data lives on S3, through `dag.test()` and the moto server over HTTP.

Inputs are downloaded before a step, outputs uploaded after it; reuse keys follow the S3 ETags of
the inputs, so changing one object reruns exactly the steps that read it (and their consumers).
A side-effect log counts real executions.
"""

from __future__ import annotations

import pytest

from aml_bridge import Experiment
from aml_bridge.data import DataReference, Dataset, OutputFileDatasetConfig
from aml_bridge.pipeline import Pipeline, PipelineData, PythonScriptStep
from tests.provider.helpers import script, side_effects
from tests.support.s3_endpoint import keys


@pytest.fixture
def ws(make_s3_ws, bucket):
    return make_s3_ws(bucket)


def _sources(tmp_path):
    script(tmp_path / "src", "a.py", """
        p = argparse.ArgumentParser(); p.add_argument("--files"); p.add_argument("--out"); p.add_argument("--res")
        p.add_argument("--log"); a = p.parse_args()
        names = sorted(os.listdir(a.files))
        frame = run.input_datasets["table"].to_pandas_dataframe()  # direct mode: the step reads S3 itself
        run.log("files", ",".join(names)); run.log("rows", len(frame))
        os.makedirs(a.out, exist_ok=True); os.makedirs(os.path.join(a.res, "deep"), exist_ok=True)
        open(os.path.join(a.out, "total.txt"), "w").write(str(int(frame["x"].sum())))
        open(os.path.join(a.res, "deep", "names.txt"), "w").write(",".join(names))
        open(a.log, "a").write("a\\n")
    """)
    script(tmp_path / "src", "b.py", """
        p = argparse.ArgumentParser(); p.add_argument("--total"); p.add_argument("--res"); p.add_argument("--lookup")
        p.add_argument("--log"); a = p.parse_args()
        total = int(open(os.path.join(a.total, "total.txt")).read())
        factor = int(open(os.path.join(a.lookup, "factor.txt")).read())
        run.log("names", open(os.path.join(a.res, "deep", "names.txt")).read())
        run.log("result", total * factor)
        open(a.log, "a").write("b\\n")
    """)


def _pipeline(ws, tmp_path):
    store = ws.get_default_datastore()
    log = str(tmp_path / "executions.log")
    files = Dataset.File.from_files((store, "inputs/raw/*.csv"))
    table = Dataset.Tabular.from_delimited_files((store, "inputs/raw/*.csv"))
    lookup = DataReference(store, data_reference_name="lookup", path_on_datastore="inputs/lookup").as_download()
    total = PipelineData("total", datastore=store)
    results = OutputFileDatasetConfig(name="results", destination=(store, "results/{run-id}/{output-name}"))
    a = PythonScriptStep("a.py", name="a", source_directory=str(tmp_path / "src"), outputs=[total],
                         arguments=["--files", files.as_named_input("files").as_mount(), "--out", total,
                                    "--res", results, "--log", log],
                         inputs=[table.as_named_input("table")])
    b = PythonScriptStep("b.py", name="b", source_directory=str(tmp_path / "src"), inputs=[total, lookup],
                         arguments=["--total", total, "--res", results.as_input("res"), "--lookup", lookup,
                                    "--log", log])
    return Pipeline(ws, [a, b]), log


def test_pipeline_on_s3_with_etag_reuse(ws, tmp_path, s3, bucket):
    for key, body in [("inputs/raw/a.csv", "x\n1\n2\n"), ("inputs/raw/b.csv", "x\n4\n"),
                      ("inputs/lookup/factor.txt", "10")]:
        s3.put_object(Bucket=bucket, Key=f"ws/{key}", Body=body.encode())
    _sources(tmp_path)
    exp = Experiment(ws, "s3-pipeline")

    def submit():
        pipeline, log = _pipeline(ws, tmp_path)
        before = len(side_effects(tmp_path / "executions.log"))
        run = exp.submit(pipeline)
        assert run.get_status() == "Completed"
        return {s.name: s for s in run.get_steps()}, side_effects(tmp_path / "executions.log")[before:]

    steps, ran = submit()
    assert ran == ["a", "b"]
    assert steps["a"].get_metrics() == {"files": "a.csv,b.csv", "rows": 3}
    assert steps["b"].get_metrics() == {"names": "a.csv,b.csv", "result": 70}
    a_id = steps["a"].id
    stored = keys(s3, bucket, "ws/")
    assert f"ws/azureml/{a_id}/total/total.txt" in stored  # PipelineData: azureml/<step run id>/<output>
    assert f"ws/results/{a_id}/results/deep/names.txt" in stored  # {run-id}/{output-name} rendered
    assert steps["a"].get_output_data("total").path_on_datastore == f"azureml/{a_id}/total"
    lineage = _lineage(ws, steps["a"])
    assert set(lineage) == {"files", "table"} and lineage["table"].source_type == "s3"

    # The object only b reads changes: a is reused, b runs again.
    s3.put_object(Bucket=bucket, Key="ws/inputs/lookup/factor.txt", Body=b"100")
    steps, ran = submit()
    assert ran == ["b"]
    assert steps["a"].get_tags()["azureml.reusedrunid"] == a_id
    assert steps["b"].get_metrics()["result"] == 700

    # An object of a's dataset changes: a runs again, and so does its consumer b.
    s3.put_object(Bucket=bucket, Key="ws/inputs/raw/b.csv", Body=b"x\n5\n")
    steps, ran = submit()
    assert ran == ["a", "b"]
    assert steps["b"].get_metrics()["result"] == 800
    assert _lineage(ws, steps["a"])["table"].digest != lineage["table"].digest  # a new dataset version in MLflow


def _lineage(ws, step_run):
    """The MLflow dataset inputs of a step run, by input name (mlflow.data.context)."""
    from mlflow import MlflowClient

    inputs = MlflowClient(ws.config.tracking_uri).get_run(step_run._backend_id).inputs.dataset_inputs
    return {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset for i in inputs}
