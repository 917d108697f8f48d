"""An Azure ML training script, unchanged: it only imports azureml.core.

Run it with aml-bridge (`aml-bridge run examples/train/train.py --C 0.5`) and every call lands in
MLflow; run it with plain `python` and Run.get_context() is an offline run that prints.
"""

import argparse
import os

import joblib
import numpy as np
from azureml.core import Run
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
parser.add_argument("--max-iter", type=int, default=200)
args = parser.parse_args()

run = Run.get_context()
X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

run.log("C", args.C)
run.log("max_iter", args.max_iter)
model = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(X_train, y_train)
predictions = model.predict(X_test)
accuracy = accuracy_score(y_test, predictions)
run.log("accuracy", float(accuracy))
run.log_list("class_counts", [int(c) for c in np.bincount(y_train)])
for label, score in zip(load_iris().target_names, model.predict_proba(X_test).mean(axis=0)):
    run.log_row("mean_probability", label=str(label), probability=float(score))
matrix = confusion_matrix(y_test, predictions)
run.log_confusion_matrix("confusion_matrix", {
    "schema_type": "confusion_matrix", "schema_version": "1.0.0",
    "data": {"class_labels": [str(c) for c in load_iris().target_names], "matrix": matrix.tolist()}})
run.tag("framework", "scikit-learn")

os.makedirs("outputs", exist_ok=True)
joblib.dump(model, "outputs/model.pkl")
if not run.id.startswith("OfflineRun"):
    run.upload_file("outputs/model.pkl", "outputs/model.pkl")
    run.register_model("iris-classifier", model_path="outputs/model.pkl", tags={"accuracy": f"{accuracy:.3f}"})
print(f"accuracy={accuracy:.3f}")
