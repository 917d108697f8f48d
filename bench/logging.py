"""Benchmark: bridge `run.log` vs raw MLflow, same store, same run of this script.

For N points logged in a loop, against a SQLite store and a real `mlflow server` over HTTP:
  * caller cost of `run.log` (µs per call, loop time only: the writer thread does the I/O),
  * end-to-end time until every point is durable (loop + `flush()`),
  * raw `MlflowClient.log_batch` of the same points in batches of 1000 (the baseline),
  * per-call `mlflow.log_metric` (measured on a sample; it is far too slow for 100,000 calls).
Targets (issue 2): ≤ 10 µs per call; end-to-end ≥ 0.8× the throughput of raw log_batch.

    .venv/bin/python bench/logging.py [--points 10000 100000] [--sample 300]
"""

from __future__ import annotations

import os
import sys

# This file is named like the stdlib module: take bench/ off the path before anything imports logging.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def bridge(ws, n: int) -> tuple[float, float]:
    from aml_bridge import Experiment

    run = Experiment(ws, "bench_bridge").start_logging(snapshot_directory=None, outputs=False)
    start = time.perf_counter()
    for i in range(n):
        run.log("loss", i * 0.5)
    loop = time.perf_counter() - start
    run.flush()
    total = time.perf_counter() - start
    stored = sum(1 for m in _read(ws, run) if m.name == "loss")
    assert stored == n, f"bridge stored {stored} of {n}"
    return loop, total


def _read(ws, run):
    from aml_bridge.plugins import hooks

    return hooks.aml_read_metrics(workspace=ws.config, run_id=run._backend_id)


def raw_log_batch(uri: str, n: int) -> float:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("bench_raw") or client.get_experiment(client.create_experiment("bench_raw"))
    run_id = client.create_run(exp.experiment_id).info.run_id
    start = time.perf_counter()
    now = int(time.time() * 1000)
    for offset in range(0, n, 1000):
        batch = [Metric("loss", i * 0.5, now, i) for i in range(offset, min(offset + 1000, n))]
        client.log_batch(run_id, metrics=batch)
    return time.perf_counter() - start


def per_call_log_metric(uri: str, sample: int) -> float:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench_fluent")
    with mlflow.start_run():
        start = time.perf_counter()
        for i in range(sample):
            mlflow.log_metric("loss", i * 0.5, step=i)
        return (time.perf_counter() - start) / sample


def measure(label: str, ws, points: list[int], sample: int, repeats: int) -> list[str]:
    """Bridge and raw runs alternate, `repeats` times each; medians are reported."""
    uri = ws.config.tracking_uri
    per_call = per_call_log_metric(uri, sample)
    raw_log_batch(uri, 1000)  # warm the store for both sides
    rows = []
    for n in points:
        bridge_runs, raw_runs = [], []
        for _ in range(repeats):
            bridge_runs.append(bridge(ws, n))
            raw_runs.append(raw_log_batch(uri, n))
        loop = statistics.median(b[0] for b in bridge_runs)
        total = statistics.median(b[1] for b in bridge_runs)
        raw = statistics.median(raw_runs)
        rows.append(
            f"| {label} | {n:,} | {loop / n * 1e6:.2f} | {total:.2f} | {raw:.2f} | {raw / total:.2f}x | "
            f"{per_call * 1e6:,.0f} (est. {per_call * n:,.0f} s) |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--sample", type=int, default=300, help="calls timed for per-call mlflow.log_metric")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per side (median reported)")
    args = parser.parse_args()

    import mlflow  # noqa: F401  (import cost kept out of the timings)

    from aml_bridge import Workspace, settings
    from tests.support.mlflow_server import start_mlflow_server, stop_mlflow_server

    print("| store | points | run.log µs/call | bridge end-to-end s | raw log_batch s | "
          "throughput vs log_batch | mlflow.log_metric µs/call |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        sqlite_ws = Workspace(config=settings.resolve(home=os.path.join(tmp, "home")))
        measure("SQLite", sqlite_ws, args.points, args.sample, args.repeats)
        url, proc = start_mlflow_server(Path(tmp) / "server")
        try:
            http_ws = Workspace(config=settings.resolve(home=os.path.join(tmp, "home2"), tracking_uri=url))
            measure("HTTP server", http_ws, args.points, args.sample, args.repeats)
        finally:
            stop_mlflow_server(proc)


if __name__ == "__main__":
    main()
