"""Benchmark: a ParallelRunStep's prepare on an S3 FileDataset, listed (now) vs copied (before), same run.

Against `moto_server` on 127.0.0.1 (its own process) through a loopback proxy (its own process)
adding `--latency-ms` per request (default 20 ms, about an S3 first-byte time):
  * copied: what prepare did before — download every file of the dataset into the work folder
    (`FileDataset._local_view(..., "mount")`: parallel, verified), then a manifest of local paths;
  * listed: what prepare does now — the listing streamed into a manifest of pinned objects;
  * fetch: the work the listed path moves to the workers — every mini-batch (10 files) fetched by
    `loader.mini_batch_data`, one after the other in this one process (a real step spreads this over
    its workers, and overlaps it with `run()`).
Reports medians of `--repeats` alternating rounds and the bytes each leaves in the work folder.

    .venv/bin/python bench/s3_parallel_inputs.py [--files 1000] [--latency-ms 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402

from aml_bridge import Workspace, settings  # noqa: E402
from aml_bridge.data import Dataset  # noqa: E402
from aml_bridge.execution.parallel_inputs import dataset_entries  # noqa: E402
from aml_bridge.parallel import loader, manifest, remote  # noqa: E402
from tests.support.s3_endpoint import (  # noqa: E402
    s3_store,
    start_moto_server,
    start_proxy_process,
    stop_process,
    write_aws_files,
)


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _copied(ws: Workspace, work: Path) -> int:
    dataset = Dataset.File.from_files((ws.get_default_datastore(), "in/*.bin"))
    view = dataset._local_view(str(work / "inputs"), "mount")
    paths = sorted(str(p) for p in Path(view).rglob("*") if p.is_file())
    return manifest.write(str(work / "manifest.json"), manifest.batches("file", paths, 10))


def _listed(ws: Workspace, work: Path) -> int:
    dataset = Dataset.File.from_files((ws.get_default_datastore(), "in/*.bin"))
    _uri, stream = dataset_entries(dataset, ws.config)
    with remote.workspace(ws.config):
        return manifest.write(str(work / "manifest.json"), manifest.batches("file", stream(), 10))


def _fetch_all(ws: Workspace, work: Path) -> None:
    with remote.workspace(ws.config):
        for batch in manifest.read(str(work / "manifest.json")):
            with loader.mini_batch_data(batch) as paths:
                assert len(paths) == len(batch["files"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-s3-parallel-"))
    os.environ.update(write_aws_files(scratch / "aws", "bench-secret"))
    url, moto = start_moto_server(scratch)
    proxy_url, proxy = start_proxy_process(url, args.latency_ms)
    try:
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        payload = os.urandom(args.size)
        for i in range(args.files):
            client.put_object(Bucket="bench", Key=f"ws/in/f{i:05d}.bin", Body=payload)
        values = {"home": str(scratch / "home"), "datastores": {"workspaceblobstore": s3_store(proxy_url, "bench")}}
        config_path = scratch / "aml-bridge.json"
        config_path.write_text(json.dumps(values))
        ws = Workspace(config=settings.resolve(values, config_path))
        times: dict[str, list[float]] = {"copied": [], "listed": [], "fetch": []}
        left: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, action in (("copied", _copied), ("listed", _listed)):
                work = scratch / f"work-{name}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                start = time.perf_counter()
                count = action(ws, work)
                times[name].append(time.perf_counter() - start)
                left[name] = _bytes(work)
                assert count == -(-args.files // 10)
            start = time.perf_counter()
            _fetch_all(ws, scratch / "work-listed")
            times["fetch"].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{args.files} files x {args.size} B, latency {args.latency_ms} ms, {args.repeats} repeats (median)")
        print("| prepare | seconds | bytes left in the work folder |")
        print("|---|---|---|")
        print(f"| copied (before) | {med['copied']:.2f} | {left['copied']:,} |")
        print(f"| listed (now) | {med['listed']:.2f} | {left['listed']:,} (manifest only) |")
        print(f"prepare speed-up: {med['copied'] / med['listed']:.1f}x; all mini-batches fetched one after the "
              f"other in one process: {med['fetch']:.2f} s")
    finally:
        stop_process(proxy)
        stop_process(moto)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
