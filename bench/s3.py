"""Benchmark: S3 datastore transfers vs a naive sequential boto3 loop, same moto server, same run.

Against `moto_server` on 127.0.0.1 (a separate process, real HTTP):
  * upload and download of N small files (default 1,000 × 1 KiB): `Datastore.upload` /
    `Datastore.download` (parallel TransferManager, verified against the listing) vs a loop of
    `put_object` / `get_object` calls,
  * upload and download of one large file (default 256 MB): the same bridge calls (multipart,
    parallel parts, MD5 check) vs one `put_object` / one `get_object` streamed to disk.
Targets (issue 6): ≥ 4× on the small files, ≥ 1× on the large file. moto on loopback answers in
about a millisecond of CPU, so the small files are also run through a loopback proxy that adds a
per-request latency (`--latency-ms`, default 20 ms, roughly an S3 request's first-byte time), which
is what parallel transfers hide in production. The large file is also run with multipart off
(`multipart_threshold_mb=4096`): moto answers every ranged GET by reading the whole object and
copies parts on completion, which parallel parts cannot win against on loopback.

    .venv/bin/python bench/s3.py [--small 1000] [--large-mb 256] [--repeats 3]
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
from collections.abc import Callable
from pathlib import Path

# bench/ holds a logging.py: replace it on the path by the repository root.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from tests.support.s3_endpoint import s3_store, start_moto_server, start_proxy_process, stop_process  # noqa: E402


def _naive_upload(client, bucket: str, folder: Path, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as handle:
            client.put_object(Bucket=bucket, Key=f"{prefix}/{path.relative_to(folder).as_posix()}", Body=handle)


def _naive_download(client, bucket: str, prefix: str, target: Path) -> None:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for key in [o["Key"] for page in pages for o in page.get("Contents", [])]:
        dest = target / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        with open(dest, "wb") as out:
            shutil.copyfileobj(body, out, 1 << 20)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _round(client, store, folder: Path, tag: str, scratch: Path) -> dict[str, float]:
    """One upload + download of `folder` each way; naive first, then the bridge."""
    down = scratch / f"down-{tag}"
    times = {
        "naive_up": _timed(lambda: _naive_upload(client, "bench", folder, f"naive/{tag}")),
        "bridge_up": _timed(lambda: store.upload(str(folder), f"bridge/{tag}", overwrite=True, show_progress=False)),
        "naive_down": _timed(lambda: _naive_download(client, "bench", f"naive/{tag}", down / "naive")),
        "bridge_down": _timed(lambda: store.download(str(down / "bridge"), f"bridge/{tag}", show_progress=False)),
    }
    count = sum(1 for p in folder.rglob("*") if p.is_file())
    assert sum(1 for p in (down / "bridge").rglob("*") if p.is_file()) == count
    assert sum(1 for p in (down / "naive").rglob("*") if p.is_file()) == count
    shutil.rmtree(down)
    return times


def _clients(endpoint: str, scratch: Path, name: str, **tuning: object):
    import boto3

    from aml_bridge import Workspace, settings

    values = {"home": str(scratch / "home"),
              "datastores": {"workspaceblobstore": s3_store(endpoint, "bench", name, **tuning)}}
    (scratch / f"{name}.json").write_text(json.dumps(values))
    store = Workspace(config=settings.resolve(values, scratch / f"{name}.json")).get_default_datastore()
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1"), store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large-mb", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="also run the small files through a proxy adding this per-request latency (0: skip)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="aml-bench-s3-"))
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    url, proc = start_moto_server(tmp)
    try:
        client, store = _clients(url, tmp, "direct")
        client.create_bucket(Bucket="bench")
        small = tmp / "small"
        for i in range(args.small):
            folder = small / f"d{i % 10}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"f{i:05}.txt").write_bytes(os.urandom(1024))
        large = tmp / "large"
        large.mkdir()
        with open(large / "big.bin", "wb") as out:
            for _ in range(args.large_mb):
                out.write(os.urandom(1 << 20))

        single = {"multipart_threshold_mb": 4096}
        cases = [(f"{args.small} × 1 KiB", small, None, {}), (f"1 × {args.large_mb} MB", large, None, {}),
                 (f"1 × {args.large_mb} MB, multipart_threshold_mb=4096", large, None, single)]
        if args.latency_ms:
            cases.append((f"{args.small} × 1 KiB, +{args.latency_ms:g} ms/request", small, args.latency_ms, {}))
        rows = []
        for index, (label, folder, latency, tuning) in enumerate(cases):
            proxy_url, proxy = start_proxy_process(url, latency) if latency else (url, None)
            case_client, case_store = ((client, store) if proxy is None and not tuning
                                       else _clients(proxy_url, tmp, f"case{index}", **tuning))
            runs = [_round(case_client, case_store, folder, f"c{index}r{r}", tmp) for r in range(args.repeats)]
            if proxy is not None:
                stop_process(proxy)
            rows.append((label, {k: statistics.median(r[k] for r in runs) for k in runs[0]}))
        print(f"S3 transfers vs naive sequential boto3 (moto_server on {url}; medians of {args.repeats})")
        print("| data | bridge upload s | naive upload s | upload speed-up | bridge download s | naive download s "
              "| download speed-up |")
        print("|---|---|---|---|---|---|---|")
        for label, med in rows:
            print(f"| {label} | {med['bridge_up']:.2f} | {med['naive_up']:.2f} | "
                  f"{med['naive_up'] / med['bridge_up']:.2f}x | {med['bridge_down']:.2f} | {med['naive_down']:.2f} | "
                  f"{med['naive_down'] / med['bridge_down']:.2f}x |")
    finally:
        stop_process(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
