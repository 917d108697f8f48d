"""A training script written for Azure ML SDK v1: it imports only from azureml.core."""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from azureml.core import Model, Run  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, default=0.5)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

run = Run.get_context()
run.log("alpha", args.alpha)
for epoch in range(args.epochs):
    run.log("loss", 1.0 / (epoch + 1))
run.log("epochs", args.epochs)
run.log("best_model", "ridge")
run.log_list("accuracies", [0.8, 0.85, 0.9])
run.log_row("per_class", "precision by class", cls="a", precision=0.9)
run.log_row("per_class", cls="b", precision=0.7)
run.log_table("coefficients", {"feature": ["x1", "x2"], "weight": [0.5, -1.25]})

plt.plot([1, 2, 3], [1, 4, 9])
run.log_image("curve", plot=plt)
run.log_confusion_matrix("confusion", {
    "schema_type": "confusion_matrix", "schema_version": "1.0.0",
    "data": {"class_labels": ["0", "1"], "matrix": [[5, 1], [2, 7]]}})

run.tag("framework", "numpy")
run.tag("quick")
run.add_properties({"dataset": "synthetic-v1"})

child = run.child_run(name="fold-0")
child.log("fold_score", 0.75)
child.complete()

os.makedirs("outputs", exist_ok=True)
with open("outputs/model.json", "w") as fh:
    json.dump({"alpha": args.alpha}, fh)
# ./outputs is uploaded after the script ends, so register a copy uploaded now.
run.upload_file("model/model.json", "outputs/model.json")
model = run.register_model(model_name="ridge-demo", model_path="model/model.json", tags={"alpha": args.alpha})

ws = run.experiment.workspace
print("registered", Model(ws, "ridge-demo").version, model.name, flush=True)
print("run", run.id, "parent", run.parent)
run.complete()
