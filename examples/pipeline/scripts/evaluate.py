"""Step 3: score the trained model on the held-out rows and record the result on the pipeline run."""

import argparse
import os

import joblib
import pandas as pd
from azureml.core import Run
from sklearn.metrics import accuracy_score, f1_score

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True, help="folder with test.csv")
parser.add_argument("--model", required=True, help="folder with model.pkl")
args = parser.parse_args()

run = Run.get_context()
test = pd.read_csv(os.path.join(args.data, "test.csv"))
X, y = test.drop(columns="target"), test["target"]
model = joblib.load(os.path.join(args.model, "model.pkl"))
predicted = model.predict(X)

accuracy = float(accuracy_score(y, predicted))
run.log("accuracy", accuracy)
for label, score in zip(sorted(y.unique()), f1_score(y, predicted, average=None)):
    run.log_row("f1_per_class", label=str(label), f1=float(score))
run.parent.log("test_accuracy", accuracy)
run.parent.tag("model_quality", "good" if accuracy >= 0.9 else "poor")
print(f"test accuracy {accuracy:.3f}")
