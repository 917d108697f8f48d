"""Benchmark: `ParallelTask(type='model')` through the driver vs `predict` on the whole table, same run.

A scikit-learn model with a single-threaded predict (an RBF SVC; `--model forest`: a random
forest) is logged and registered in a fresh SQLite
MLflow store; a CSV of N rows is scored
  * by the driver: `run_parallel` with P worker processes on the planned settings of a v2 model node,
    timed from the call to the gathered output file, so it pays MLflow's import, the model download,
    the signature check, the workers' model load, chunk reads and writing the output lines;
  * by the baseline: `model.predict(table)` on the whole table in one process, the model already
    loaded and the table already read (only the predict call is timed).
Each side runs in a fresh interpreter (the driver forks its caller), alternating, `--repeats` times;
medians are compared. Target (issue 8): driver rows/s >= 0.8x baseline with 2 processes on 2 cores.

    .venv/bin/python bench/parallel_model.py [--rows 100000] [--processes 2] [--repeats 3] [--model svc|forest]
"""

from __future__ import annotations

import os
import sys

# bench/logging.py is named like the stdlib module: put the repository, not bench/, first on the path.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

COLUMNS = [f"x{i}" for i in range(8)]


def _uri(home: str) -> str:
    return f"sqlite:///{home}/mlflow.db"


def _estimator(kind: str, trees: int) -> tuple[object, int, dict[str, object]]:
    """(model, training rows, log_model options): an RBF SVC (the default) or a random forest."""
    if kind == "forest":
        from sklearn.ensemble import RandomForestClassifier

        return (RandomForestClassifier(n_estimators=trees, max_depth=14, n_jobs=1, random_state=0), 20_000,
                {"skops_trusted_types": ["sklearn.tree._tree.Tree"]})
    from sklearn.svm import SVC

    return SVC(), 6_000, {}


def setup(home: str, rows: int, kind: str, trees: int, train_rows: int | None) -> None:
    """Register the model and write the input CSV (in a process of its own: MLflow leaves threads)."""
    import mlflow
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature

    rng = np.random.default_rng(0)
    model, default_rows, options = _estimator(kind, trees)
    train = pd.DataFrame(rng.normal(size=(train_rows or default_rows, len(COLUMNS))), columns=COLUMNS)
    target = (train["x0"] * train["x1"] + np.sin(train["x2"]) > 0).astype(int)
    model.fit(train, target)
    mlflow.set_tracking_uri(_uri(home))
    experiment = mlflow.MlflowClient().create_experiment("bench", artifact_location=os.path.join(home, "artifacts"))
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(model, name="model", signature=infer_signature(train, model.predict(train)),
                                 registered_model_name="bench_model", **options)
    pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS).to_csv(
        os.path.join(home, "rows.csv"), index=False)


def driver(home: str, processes: int, mini_batch_size: str) -> dict[str, float]:
    from aml_bridge.parallel import Input, Output, ParallelTask, parallel_run_function
    from aml_bridge.parallel.driver import run_parallel
    from aml_bridge.parallel.manifest import build
    from aml_bridge.parallel.v2 import plan_settings

    node = parallel_run_function(
        name="score", inputs={"rows": Input(type="mltable", mode="direct")}, outputs={"scores": Output()},
        input_data="${{inputs.rows}}", mini_batch_size=mini_batch_size, max_concurrency_per_instance=processes,
        task=ParallelTask(type="model", model="azureml:bench_model:1", append_row_to="${{outputs.scores}}"))
    settings = plan_settings(node)
    work = tempfile.mkdtemp(dir=home, prefix="work.")
    cpu = _cpu()
    start = time.perf_counter()
    batches = build(settings.input_kind, [os.path.join(home, "rows.csv")], settings.mini_batch_size)
    summary = run_parallel(settings, batches, work, os.path.join(work, "out"), processes,
                           env={"MLFLOW_TRACKING_URI": _uri(home)})
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu
    assert summary.status == "Completed", summary
    return {"seconds": seconds, "cpu": cpu, "rows": summary.succeeded_items, "mini_batches": summary.total,
            "scoring_seconds": _scoring_seconds(os.path.join(work, "ledger"))}


def _scoring_seconds(ledger_root: str) -> float:
    """First mini-batch start to last end, from the ledger's journals (each outcome has its end time)."""
    from aml_bridge.parallel.ledger import Ledger

    spans = [(o["ended"] - o["seconds"], o["ended"]) for o in Ledger(ledger_root).outcomes().values()]
    return max(e for _, e in spans) - min(s for s, _ in spans)


def baseline(home: str) -> dict[str, float]:
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model("models:/bench_model/1")  # tracking URI from the environment
    start = time.perf_counter()
    table = pd.read_csv(os.path.join(home, "rows.csv"))
    read = time.perf_counter() - start
    cpu = _cpu()
    start = time.perf_counter()
    predicted = model.predict(table)
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu
    assert len(predicted) == len(table)
    return {"seconds": seconds, "cpu": cpu, "rows": len(table), "read_seconds": read}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the workers): contention does not change it."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _child(case: str, home: str, *args: str) -> dict[str, float]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": _uri(home), "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, __file__, "--case", case, "--home", home, *args], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", choices=["svc", "forest"], default="svc")
    parser.add_argument("--trees", type=int, default=200, help="forest only")
    parser.add_argument("--train-rows", type=int, help="training rows (svc: 6000; its predict cost grows with them)")
    parser.add_argument("--mini-batch-size", default="1mb")
    parser.add_argument("--case", choices=["setup", "driver", "baseline"])
    parser.add_argument("--home")
    args = parser.parse_args()
    if args.case:
        cases = {"setup": lambda: setup(args.home, args.rows, args.model, args.trees, args.train_rows) or {},
                 "driver": lambda: driver(args.home, args.processes, args.mini_batch_size),
                 "baseline": lambda: baseline(args.home)}
        print(json.dumps(cases[args.case]()))
        return
    home = tempfile.mkdtemp(prefix="bench-parallel-model-")
    _child("setup", home, "--rows", str(args.rows), "--model", args.model, "--trees", str(args.trees),
           *(["--train-rows", str(args.train_rows)] if args.train_rows else []))
    drives, bases = [], []
    for _ in range(args.repeats):
        drives.append(_child("driver", home, "--processes", str(args.processes),
                             "--mini-batch-size", args.mini_batch_size))
        bases.append(_child("baseline", home))
    drive_s = statistics.median(d["seconds"] for d in drives)
    base_s = statistics.median(b["seconds"] for b in bases)
    runs_d = ", ".join(f"{d['seconds']:.2f}" for d in drives)
    runs_b = ", ".join(f"{b['seconds']:.2f}" for b in bases)
    read_s = statistics.median(b["read_seconds"] for b in bases)
    print(f"model={args.model} train_rows={args.train_rows or 'default'} rows={args.rows} processes={args.processes} "
          f"mini_batches={drives[0]['mini_batches']} repeats={args.repeats} (medians)")
    print(f"driver  : {drive_s:7.2f} s {args.rows / drive_s:10,.0f} rows/s (runs: {runs_d})")
    print(f"predict : {base_s:7.2f} s {args.rows / base_s:10,.0f} rows/s (runs: {runs_b}; "
          f"reading the CSV took another {read_s:.2f} s)")
    scoring_s = statistics.median(d["scoring_seconds"] for d in drives)
    print(f"ratio driver/predict rows per second: {base_s / drive_s:.2f}x (target >= 0.8x)")
    drive_cpu = statistics.median(d["cpu"] for d in drives)
    base_cpu = statistics.median(b["cpu"] for b in bases)
    print(f"CPU seconds (all processes; unaffected by other load): driver {drive_cpu:.2f}, predict {base_cpu:.2f} "
          f"-> the driver's extra CPU is {drive_cpu - base_cpu:.2f} s")
    print(f"of the driver's time, {drive_s - scoring_s:.2f} s is before the first mini-batch starts or after the "
          f"last ends (MLflow and flavour imports, model download + check + load, worker start, gather); "
          f"scoring phase alone: {args.rows / scoring_s:,.0f} rows/s = {base_s / scoring_s:.2f}x predict")

if __name__ == "__main__":
    main()
