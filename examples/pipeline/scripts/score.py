"""ParallelRunStep entry script: score mini-batches of held-out rows with the trained model.

`init()` runs once per worker process (2 nodes x 2 processes here), `run()` once per mini-batch
(a pandas DataFrame of CSV rows); each returned row becomes one line of scores.txt.
"""

import argparse
import os

import joblib
from azureml.core import Run
from azureml_user.parallel_run import EntryScript

model = None


def init():
    global model
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="folder with model.pkl")
    args, _ = parser.parse_known_args()  # the driver adds its own arguments too
    model = joblib.load(os.path.join(args.model, "model.pkl"))
    EntryScript().logger.info("model loaded in %s", EntryScript().agent_name)


def run(mini_batch):
    features = mini_batch.drop(columns="target")
    scored = mini_batch[["target"]].copy()
    scored["predicted"] = model.predict(features)
    scored["confidence"] = model.predict_proba(features).max(axis=1).round(4)
    Run.get_context().log("rows_scored", len(scored))  # every worker logs to the one step run
    return scored  # lines "target predicted confidence"
