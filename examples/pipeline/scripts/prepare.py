"""Step 1: split scikit-learn's wine data set (it ships inside the package: no download) into CSVs."""

import argparse
import os

from azureml.core import Run
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--output", required=True, help="folder for train.csv and test.csv")
parser.add_argument("--holdout", help="folder for holdout.csv (the test rows' features, for batch scoring)")
parser.add_argument("--test-size", type=float, default=0.25)
parser.add_argument("--seed", type=int, default=42)
args = parser.parse_args()

run = Run.get_context()
frame = load_wine(as_frame=True).frame  # 13 numeric features and a "target" column (3 cultivars)
train, test = train_test_split(frame, test_size=args.test_size, random_state=args.seed, stratify=frame["target"])

os.makedirs(args.output, exist_ok=True)
train.to_csv(os.path.join(args.output, "train.csv"), index=False)
test.to_csv(os.path.join(args.output, "test.csv"), index=False)
if args.holdout:
    os.makedirs(args.holdout, exist_ok=True)
    test.drop(columns="target").to_csv(os.path.join(args.holdout, "holdout.csv"), index=False)

run.log("test_size", args.test_size)
run.log("train_rows", len(train))
run.log("test_rows", len(test))
run.log_list("class_counts", [int(n) for n in train["target"].value_counts().sort_index()])
print(f"wrote {len(train)} training and {len(test)} test rows to {args.output}")
