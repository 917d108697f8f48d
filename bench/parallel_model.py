"""Benchmark: `ParallelTask(type='model')` through the driver vs `predict` on the whole table, same run.

A scikit-learn model with a single-threaded predict (an RBF SVC; `--model forest`: a random
forest) is logged and registered in a fresh SQLite MLflow store; a CSV of N rows is scored
  * by the driver: `run_parallel` with P worker processes on the planned settings of a v2 model node,
    timed from the call to the gathered output file (input columns + predictions written), so it
    pays MLflow's import, the model download, the signature check, the model load, chunk reads and
    writing the output lines;
  * by one process: `import mlflow.pyfunc`, `load_model("models:/bench_model/1")`, `read_csv`, then
    `predict` on the whole table (nothing written). Both the whole of it and the `predict` call
    alone are timed.
Like the other cases of bench/parallel.py (both sides include starting and `init()`), the target
row compares the two from the same starting point, a model reference and a CSV in a fresh
interpreter. Two more ratios are printed so nothing hides in the choice: the scoring phase
alone (first mini-batch start to last end) against the `predict` call alone, and the driver's whole
run against the `predict` call alone (the fixed part, mostly third-party imports, counted against
the driver only). Each side runs in a fresh interpreter (the driver forks its caller),
alternating, `--repeats` times; medians are compared. Target (issue 8): >= 0.8x with 2 processes
on 2 cores.

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
    cpu0, start = _cpu(), time.perf_counter()
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model("models:/bench_model/1")  # tracking URI from the environment
    table = pd.read_csv(os.path.join(home, "rows.csv"))
    cpu, ready = _cpu(), time.perf_counter()
    predicted = model.predict(table)
    end = time.perf_counter()
    assert len(predicted) == len(table)
    return {"seconds": end - ready, "cpu": _cpu() - cpu, "rows": len(table), "whole_seconds": end - start,
            "whole_cpu": _cpu() - cpu0, "ready_seconds": ready - start}


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
    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def listed(runs: list[dict[str, float]], key: str) -> str:
        return ", ".join(f"{r[key]:.2f}" for r in runs)

    drive_s, whole_s, base_s = med(drives, "seconds"), med(bases, "whole_seconds"), med(bases, "seconds")
    scoring_s = med(drives, "scoring_seconds")
    print(f"model={args.model} train_rows={args.train_rows or 'default'} rows={args.rows} processes={args.processes} "
          f"mini_batches={drives[0]['mini_batches']} repeats={args.repeats} (medians)")
    print(f"driver, model reference -> output file : {drive_s:6.2f} s {args.rows / drive_s:9,.0f} rows/s "
          f"(runs: {listed(drives, 'seconds')})")
    print(f"one process, model reference -> predict: {whole_s:6.2f} s {args.rows / whole_s:9,.0f} rows/s "
          f"(runs: {listed(bases, 'whole_seconds')}; of it import + load + read_csv {med(bases, 'ready_seconds'):.2f} s)")
    print(f"predict call alone                     : {base_s:6.2f} s {args.rows / base_s:9,.0f} rows/s "
          f"(runs: {listed(bases, 'seconds')})")
    print(f"ratio driver / one process, rows per second, same starting point: {whole_s / drive_s:.2f}x "
          "(target >= 0.8x)")
    print(f"ratio scoring phase / predict call alone ({scoring_s:.2f} s of mini-batches): {base_s / scoring_s:.2f}x")
    print(f"ratio driver's whole run / predict call alone: {base_s / drive_s:.2f}x (the driver's "
          f"{drive_s - scoring_s:.2f} s outside the scoring phase -- imports, model download + check + load, "
          "worker start, gather -- counted against it alone)")
    print(f"CPU seconds (all processes; unaffected by other load): driver {med(drives, 'cpu'):.2f}, one process "
          f"{med(bases, 'whole_cpu'):.2f} (predict call {med(bases, 'cpu'):.2f})")


if __name__ == "__main__":
    main()
