"""Step 2: fit a scaled logistic regression, log its metrics, save it as an MLflow model (with its
signature: the batch-score step checks the held-out columns against it) and register it."""

import argparse
import os

import joblib
import mlflow.sklearn
import pandas as pd
import sklearn
from azureml.core import Run
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True, help="folder with train.csv")
parser.add_argument("--model", required=True, help="folder to save the model in")
parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
parser.add_argument("--model-name", default="wine-classifier")
args = parser.parse_args()

run = Run.get_context()
train = pd.read_csv(os.path.join(args.data, "train.csv"))
X, y = train.drop(columns="target"), train["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=1000))

scores = cross_val_score(model, X, y, cv=5)
predicted = cross_val_predict(model, X, y, cv=5)
model.fit(X, y)

run.log("C", args.C)
run.log_list("cv_accuracy", [float(s) for s in scores])
run.log("cv_accuracy_mean", float(scores.mean()))
labels = [str(c) for c in sorted(y.unique())]
run.log_confusion_matrix("cv_confusion_matrix", {
    "schema_type": "confusion_matrix", "schema_version": "1.0.0",
    "data": {"class_labels": labels, "matrix": confusion_matrix(y, predicted).tolist()}})
run.parent.log("cv_accuracy_mean", float(scores.mean()))

os.makedirs(args.model, exist_ok=True)
joblib.dump(model, os.path.join(args.model, "model.pkl"))  # for the evaluate step
# An MLflow model folder (MLmodel + model.pkl): scored by the batch-score step with no scoring script.
mlflow.sklearn.save_model(model, "outputs/model", signature=infer_signature(X, model.predict(X)),
                          pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
run.upload_folder(name="outputs/model", path="outputs/model")
registered = run.register_model(model_name=args.model_name, model_path="outputs/model",
                                tags={"C": str(args.C), "cv_accuracy": f"{scores.mean():.3f}"})
print(f"cv accuracy {scores.mean():.3f}; registered {registered.name} version {registered.version}")
