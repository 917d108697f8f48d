"""Reports its environment and writes outputs; logs one metric through plain mlflow."""

import os
import sys

import mlflow
from azureml.core import Run

run = Run.get_context()
for name in ("AZUREML_RUN_ID", "AZUREML_ARM_PROJECT_NAME", "AZUREML_OUTPUT_DIRECTORY", "AZUREML_ARM_WORKSPACE_NAME"):
    print(f"{name}={os.environ.get(name)}")
print("script-dir-importable", os.path.dirname(os.path.abspath(__file__)) in sys.path)
print("error line for the log", file=sys.stderr)
run.log("from_azureml", 1)
mlflow.log_metric("from_mlflow", 2.5)
os.makedirs("outputs/nested/deeper", exist_ok=True)
for rel in ("top.txt", "nested/deeper/leaf.txt", "already.txt"):
    with open(os.path.join("outputs", rel), "w") as fh:
        fh.write(rel)
run.upload_file("outputs/already.txt", "outputs/already.txt")  # the launcher must not upload it again
