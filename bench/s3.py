"""Benchmark: S3 datastore transfers vs a naive sequential boto3 loop, same moto server, same run.

Data: N small files (default 1,000 × 1 KiB in 10 folders) and one large file (default 256 MB).
Bridge = `Datastore.upload` / `Datastore.download` on an S3 datastore with default settings;
naive = `put_object` per file / `list_objects_v2` + `get_object` per file streamed to disk.
Targets (issue 6): ≥ 4× on the small files, ≥ 1× on the large file.

Two endpoints, both `moto_server` (server mode, its own process) on 127.0.0.1:
  * direct: boto3 talks to moto on loopback. Requests cost only CPU (moto's and the client's, on
    the same cores), and moto answers a ranged GET by reading the whole object; with
    `--moto-ranges` it runs bench/moto_ranges.py, which reads only the range (as S3 does).
  * S3-like: through a loopback proxy (its own process) that adds a first-byte latency per request
    (`--latency-ms`, 20) and caps every connection's bandwidth both ways (`--mb-per-s`, 100 MB/s):
    an S3 request's first-byte time and AWS's per-connection throughput (S3's performance guide
    quotes ~85-90 MB/s per connection; parallel connections are how one client goes faster).
Rows with `multipart_threshold_mb=4096` send the large file as one request each way.

Each repeat runs both sides in turn (which goes first alternates) after an `os.sync()`, so
neither pays for writing back the other's files. Per row it also reports requests per file (client-side count, retries included) and CPU seconds
of the client, moto and the proxy, so a CPU-bound row can be told from a latency-bound one; and
`--explain` times moto serving one 16 MB range of the large object vs a whole 16 MB object.

    .venv/bin/python bench/s3.py [--small 1000] [--large-mb 256] [--repeats 3] [--explain] [--moto-ranges]
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
from typing import Any

# bench/ holds a logging.py: replace it on the path by the repository root.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from tests.support.s3_endpoint import s3_store, start_moto_server, start_proxy_process, stop_process  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a process; this process's own threads when pid is None."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class _Counter:
    """Requests a boto3 client sends (botocore `before-send`: every attempt, retries included)."""

    def __init__(self, client: Any) -> None:
        self.n = 0
        client.meta.events.register("before-send.s3", self._count)

    def _count(self, **kwargs: Any) -> None:
        self.n += 1


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


def _measure(action: Callable[[], object], counter: _Counter, pids: dict[str, int | None]) -> dict[str, float]:
    os.sync()  # the previous step's dirty pages (256 MB) are not written back on this step's time
    before = {name: _cpu(pid) for name, pid in pids.items()}
    sent, start = counter.n, time.perf_counter()
    action()
    result = {"s": time.perf_counter() - start, "requests": counter.n - sent}
    result.update({f"cpu_{name}": _cpu(pid) - before[name] for name, pid in pids.items()})
    return result


def _round(case: dict[str, Any], folder: Path, tag: str, scratch: Path, pids: dict[str, int | None],
           bridge_first: bool) -> dict[str, dict[str, float]]:
    """One upload + download of `folder` each way by both sides (which side goes first alternates)."""
    down = scratch / f"down-{tag}"
    client, store = case["client"], case["store"]
    steps = {
        "naive_up": (lambda: _naive_upload(client, "bench", folder, f"naive/{tag}"), case["naive_count"]),
        "bridge_up": (lambda: store.upload(str(folder), f"bridge/{tag}", overwrite=True, show_progress=False),
                      case["bridge_count"]),
        "naive_down": (lambda: _naive_download(client, "bench", f"naive/{tag}", down / "naive"), case["naive_count"]),
        "bridge_down": (lambda: store.download(str(down / "bridge"), f"bridge/{tag}", show_progress=False),
                        case["bridge_count"]),
    }
    sides = ("bridge", "naive") if bridge_first else ("naive", "bridge")
    times = {f"{side}_{d}": _measure(*steps[f"{side}_{d}"], pids) for d in ("up", "down") for side in sides}
    count = sum(1 for p in folder.rglob("*") if p.is_file())
    assert sum(1 for p in (down / "bridge").rglob("*") if p.is_file()) == count
    assert sum(1 for p in (down / "naive").rglob("*") if p.is_file()) == count
    shutil.rmtree(down)
    return times


def _case(endpoint: str, scratch: Path, name: str, **tuning: object) -> dict[str, Any]:
    import boto3

    from aml_bridge import Workspace, settings

    values = {"home": str(scratch / "home"),
              "datastores": {"workspaceblobstore": s3_store(endpoint, "bench", name, **tuning)}}
    (scratch / f"{name}.json").write_text(json.dumps(values))
    store = Workspace(config=settings.resolve(values, scratch / f"{name}.json")).get_default_datastore()
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    return {"client": client, "store": store, "naive_count": _Counter(client),
            "bridge_count": _Counter(store.backend.client)}


def _explain(client, folder: Path) -> None:
    """moto's cost for one 16 MB ranged GET of the large object vs one GET of a whole 16 MB object."""
    big = next(p for p in folder.rglob("*") if p.is_file())
    client.upload_file(str(big), "bench", "explain/big.bin")
    client.put_object(Bucket="bench", Key="explain/16mb.bin", Body=os.urandom(16 << 20))
    for label, key, extra in (("16 MB range of the large object", "explain/big.bin", {"Range": "bytes=0-16777215"}),
                              ("whole 16 MB object", "explain/16mb.bin", {})):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            assert len(client.get_object(Bucket="bench", Key=key, **extra)["Body"].read()) == 16 << 20
            runs.append(time.perf_counter() - start)
        print(f"| moto, GET {label} | {statistics.median(runs) * 1000:.0f} ms (median of 5) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large-mb", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="S3-like rows: first-byte latency per request")
    parser.add_argument("--mb-per-s", type=float, default=100.0, help="S3-like rows: bandwidth cap per connection")
    parser.add_argument("--only", default="", help="comma-separated row numbers to run (default: all)")
    parser.add_argument("--explain", action="store_true", help="also time moto's ranged vs whole-object GETs")
    parser.add_argument("--tuning", default="{}", help="JSON datastore settings for the bridge's default rows")
    parser.add_argument("--moto-ranges", action="store_true",
                        help="moto patched to read only a ranged GET's bytes, not the whole object (bench/moto_ranges.py)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="aml-bench-s3-"))
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    launcher = [sys.executable, str(Path(__file__).with_name("moto_ranges.py"))] if args.moto_ranges else None
    moto_mode = ("moto_ranges.py: ranged GETs read only their bytes" if args.moto_ranges
                 else "stock: every ranged GET reads the whole object")
    url, moto = start_moto_server(tmp, launcher)
    try:
        import boto3

        boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket="bench")
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

        tuned, single = json.loads(args.tuning), {"multipart_threshold_mb": 4096}
        s3_like = f"S3-like ({args.latency_ms:g} ms, {args.mb_per_s:g} MB/s per connection)"
        cases = [("direct", f"{args.small} × 1 KiB", small, False, tuned),
                 ("direct", f"1 × {args.large_mb} MB", large, False, tuned),
                 ("direct", f"1 × {args.large_mb} MB, `multipart_threshold_mb=4096`", large, False, single),
                 (s3_like, f"{args.small} × 1 KiB", small, True, tuned),
                 (s3_like, f"1 × {args.large_mb} MB", large, True, tuned),
                 (s3_like, f"1 × {args.large_mb} MB, `multipart_threshold_mb=4096`", large, True, single)]
        only = {int(i) for i in args.only.split(",") if i}
        rows = []
        for index, (endpoint, label, folder, proxied, tuning) in enumerate(cases, 1):
            if only and index not in only:
                continue
            proxy_url, proxy = (start_proxy_process(url, args.latency_ms, args.mb_per_s) if proxied
                                else (url, None))
            case = _case(proxy_url, tmp, f"case{index}", **tuning)
            pids = {"client": None, "moto": moto.pid, "proxy": proxy.pid if proxy else None}
            if proxy is None:
                del pids["proxy"]
            runs = [_round(case, folder, f"c{index}r{r}", tmp, pids, r % 2 == 1) for r in range(args.repeats)]
            if proxy is not None:
                stop_process(proxy)
            files = sum(1 for p in folder.rglob("*") if p.is_file())
            med = {side: {k: statistics.median(r[side][k] for r in runs) for k in runs[0][side]} for side in runs[0]}
            rows.append((endpoint, label, files, med))
        print(f"S3 transfers vs naive sequential boto3 (moto_server on {url}, {moto_mode}; "
              f"medians of {args.repeats}, "
              "alternating which side goes first; "
              f"bridge tuning {tuned or 'defaults'})")
        print("| endpoint | data | direction | bridge s | naive s | speed-up | requests/file bridge / naive "
              "| CPU s bridge: client+moto+proxy | CPU s naive: client+moto+proxy |")
        print("|---|---|---|---|---|---|---|---|---|")
        for endpoint, label, files, med in rows:
            for direction in ("up", "down"):
                b, n = med[f"bridge_{direction}"], med[f"naive_{direction}"]

                def cpu(m: dict[str, float]) -> str:
                    return "+".join(f"{m[k]:.1f}" for k in ("cpu_client", "cpu_moto", "cpu_proxy") if k in m)

                print(f"| {endpoint} | {label} | {'upload' if direction == 'up' else 'download'} | {b['s']:.2f} | "
                      f"{n['s']:.2f} | **{n['s'] / b['s']:.2f}x** | {b['requests'] / files:.3g} / "
                      f"{n['requests'] / files:.3g} | {cpu(b)} | {cpu(n)} |")
        if args.explain:
            print("| measurement | time |\n|---|---|")
            _explain(boto3.client("s3", endpoint_url=url, region_name="us-east-1"), large)
    finally:
        stop_process(moto)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
