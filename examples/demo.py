"""`make demo`: run the example Azure ML pipeline through real Airflow and show what it left behind.

`aml-bridge pipeline run examples/pipeline/pipeline.py` executes the unchanged definition with
`dag.test()` on an embedded SQLite Airflow under ./.aml-bridge/airflow, tracking into the embedded
MLflow store ./.aml-bridge/mlflow.db. Airflow's output goes to a log file; this prints the run
tree read back through the Azure ML API, the registered model and where to look.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFINITION = Path("examples/pipeline/pipeline.py")
HOME = Path(".aml-bridge")
LOG = HOME / "demo-pipeline.log"
MODEL = "wine-classifier"
# The demo always uses the embedded stores: settings from the caller's shell would send it elsewhere.
NOT_INHERITED = ("AIRFLOW_", "AML_BRIDGE_HOME", "AML_BRIDGE_CONFIG", "AML_BRIDGE_ARTIFACT_ROOT",
                 "AML_BRIDGE_RUN_ID", "MLFLOW_")


def main() -> int:
    os.chdir(ROOT)
    for name in [n for n in os.environ if n.startswith(NOT_INHERITED)]:
        del os.environ[name]
    HOME.mkdir(exist_ok=True)
    print(f"$ aml-bridge pipeline run {DEFINITION} --log-file {LOG}")
    print("  (a minute or two the first time: Airflow's metadata DB is created, then three step processes and a\n"
          "   model-scoring parallel step on 2 node tasks x 2 worker processes run)",
          flush=True)
    cli = Path(sys.executable).with_name("aml-bridge")
    done = subprocess.run([str(cli), "pipeline", "run", str(DEFINITION), "--log-file", str(LOG)],
                          capture_output=True, text=True)
    print(done.stdout, end="")
    found = re.search(r"^Pipeline run (\S+)", done.stdout, re.M)
    if done.returncode != 0 or not found:
        print(done.stderr[-3000:], file=sys.stderr)
        print(f"The pipeline did not complete; Airflow's output is in {LOG}", file=sys.stderr)
        return done.returncode or 1
    show(found.group(1))
    return 0


def show(run_id: str) -> None:
    from aml_bridge import Model, Run, Workspace

    ws = Workspace.from_config(str(DEFINITION.parent))
    pipeline_run = Run.get(ws, run_id)
    print("\nRun tree, read back through the Azure ML API (Run.get, get_steps, get_metrics):")
    print(f"PipelineRun {pipeline_run.id}  {pipeline_run.get_status()}  experiment {pipeline_run.experiment.name}")
    print(f"    parameters {pipeline_run._record.tags.get('aml_bridge.parameters', '{}')}")
    _values("    metrics   ", pipeline_run.get_metrics())
    _values("    tags      ", {k: v for k, v in pipeline_run.get_tags().items() if not k.startswith("airflow.")})
    steps = sorted(pipeline_run.get_steps(), key=lambda s: s._record.start_time or 0)
    reused = 0
    for i, step in enumerate(steps):
        branch, stem = ("└─", "   ") if i == len(steps) - 1 else ("├─", "│  ")
        source = step.get_tags().get("azureml.reusedrunid")
        print(f"{branch} StepRun {step.name:<9} {step.get_status():<10} {step.id}"
              + (f"  reused run {source}" if source else ""))
        reused += bool(source)
        metrics = Run.get(ws, source).get_metrics() if source else step.get_metrics()
        _values(f"{stem}    metrics ", metrics)
        for name, output in step.get_outputs().items():
            ref = output.get_port_data_reference()
            print(f"{stem}    output  {name} -> {ref.datastore_name}:{ref.path_on_datastore}")
    if reused:
        print(f"\n{reused} of {len(steps)} steps were reused (allow_reuse=True, nothing they depend on changed): "
              f"they finished without running, pointing at the earlier outputs.\nRun them again with "
              f"`aml-bridge pipeline run {DEFINITION} --regenerate-outputs`.")
    scoring = [s for s in steps if s.name == "batch-score"]
    if scoring:
        _show_scores(scoring[0])
    model = Model(ws, MODEL)
    print(f"\nRegistered model {model.name} version {model.version} (run {model.run_id}), tags {model.tags}")
    airflow_home = f"$PWD/{HOME}/airflow"
    print("\nWhere to look:")
    print("  (commands run from the repository root)")
    print(f"  MLflow UI   .venv/bin/mlflow ui --backend-store-uri {ws.get_mlflow_tracking_uri()} --port 5000")
    print(f"              then open {pipeline_run.get_portal_url()}")
    print(f"  Airflow UI  PATH=$PWD/.venv/bin:$PATH AIRFLOW_HOME={airflow_home} "
          "AIRFLOW__CORE__LOAD_EXAMPLES=False airflow standalone")
    print(f"              then open http://localhost:8080, DAG {pipeline_run.experiment.name} (user admin, password in "
          f"{airflow_home}/simple_auth_manager_passwords.json.generated)")
    print(f"  Step data   {HOME}/datastores/workspaceblobstore/azureml/<step run id>/<output name>")
    print(f"  Runs        .venv/bin/aml-bridge runs show {pipeline_run.id}")
    print(f"  Full log    {LOG} (Airflow's dag.test output)")


def _show_scores(step) -> None:
    """The model-scoring step's gathered append_row output and its summary (logs/job_result.txt)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(step.get_output_data("scores").download(tmp))
        lines = (folder / "parallel_run_step.txt").read_text().splitlines()
        step.download_file("logs/job_result.txt", tmp)
        result = (Path(tmp) / "job_result.txt").read_text().splitlines()
    print(f"\nParallelTask(type='model') batch-score: {len(lines)} held-out rows scored by {MODEL} (no scoring "
          "script);\nlines '<13 feature values> <predicted class>':")
    for line in lines[:3]:
        print(f"    {line}")
    print("    ...")
    for line in result[:3]:
        print(f"    {line}")


def _values(label: str, values: dict) -> None:
    if values:
        print(label + ", ".join(f"{k}={_short(v)}" for k, v in values.items()))


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if text.startswith("aml://"):
        return "(an artifact: JSON + PNG)"
    return text if len(text) <= 60 else text[:57] + "..."


if __name__ == "__main__":
    sys.exit(main())
