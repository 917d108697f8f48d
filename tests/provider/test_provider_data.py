"""Data into steps through real Airflow: datasets (mount and direct), `run.input_datasets`,
DataReference and `AZUREML_DATAREFERENCE_*`, and OutputFileDatasetConfig outputs."""

from __future__ import annotations

import os

from aml_bridge import Experiment
from aml_bridge.data import DataReference, Dataset, OutputFileDatasetConfig
from aml_bridge.pipeline import Pipeline, PythonScriptStep
from tests.provider.helpers import script


def test_datasets_and_references_reach_the_step(ws, tmp_path):
    upload = tmp_path / "upload"
    (upload / "raw").mkdir(parents=True)
    (upload / "raw" / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (upload / "raw" / "b.csv").write_text("x,y\n5,6\n")
    store = ws.get_default_datastore()
    store.upload(str(upload), target_path="inputs", overwrite=True)
    files = Dataset.File.from_files((store, "inputs/raw/*.csv"))
    table = Dataset.Tabular.from_delimited_files((store, "inputs/raw/*.csv"))
    reference = DataReference(store, data_reference_name="ref", path_on_datastore="inputs/raw")
    out = OutputFileDatasetConfig(name="summary")

    script(tmp_path / "src", "use.py", """
        p = argparse.ArgumentParser(); p.add_argument("--files"); p.add_argument("--ref"); p.add_argument("--out")
        a = p.parse_args()
        mounted = run.input_datasets["raw_files"]
        run.log("files_arg_is_mount", a.files == mounted)
        run.log("n_files", len([f for f in os.listdir(mounted) if f.endswith(".csv")]))
        frame = run.input_datasets["tab"].to_pandas_dataframe()
        run.log("rows", len(frame))
        run.log("ref_env", os.environ["AZUREML_DATAREFERENCE_ref"] == a.ref)
        run.log("ref_files", sorted(os.listdir(a.ref))[0])
        os.makedirs(a.out, exist_ok=True)
        open(os.path.join(a.out, "summary.txt"), "w").write(str(len(frame)))
    """)
    step = PythonScriptStep("use.py", source_directory=str(tmp_path / "src"), allow_reuse=False,
                            arguments=["--files", files.as_named_input("raw_files").as_mount(),
                                       "--ref", reference, "--out", out],
                            inputs=[table.as_named_input("tab"), reference])
    run = Experiment(ws, "data-in").submit(Pipeline(ws, [step]))
    assert run.get_status() == "Completed"
    step_run = next(run.get_steps())
    metrics = step_run.get_metrics()
    assert metrics["files_arg_is_mount"] is True and metrics["n_files"] == 2
    assert metrics["rows"] == 3
    assert metrics["ref_env"] is True and metrics["ref_files"] == "a.csv"
    summary = step_run.get_output_data("summary")
    folder = summary.download(os.getcwd())
    assert open(os.path.join(folder, "summary.txt")).read() == "3"
    assert summary.path_on_datastore.startswith("dataset/")
