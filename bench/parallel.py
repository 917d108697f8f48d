"""Benchmark: the parallel driver vs `multiprocessing.Pool`, same entry script, same mini-batches, same run.

Cases (issue 4 targets in brackets):
  * small: 2,000 small files, mini_batch_size=10, 2 processes; run() reads each file   [ratio <= 1.15]
  * cpu:   the same files, ~2 ms of CPU per item                                         [ratio <= 1.10]
  * scaling: the cpu case on 1 vs 2 processes                                          [speed-up >= 1.8x]
  * memory: 100,000 files, mini_batch_size=10: the driver process's peak RSS above its
    RSS before the manifest was built                                                   [< 200 MB]
  * model: `ParallelTask(type='model')` scoring a registered scikit-learn model on a 100,000-row CSV,
    2 processes, vs one process scoring the whole table (bench/parallel_model.py, which says how
    each side is timed)                                                                [ratio >= 0.8x]
Both sides include starting their processes and calling init(); the ratio is driver / Pool wall time
(lower is better). Each case alternates the two sides `--repeats` times and reports medians.

    .venv/bin/python bench/parallel.py [--repeats 5] [--memory-files 100000] [--model-rows 100000]
"""

from __future__ import annotations

import os
import sys

# bench/logging.py is named like the stdlib module: put the project root, not bench/, first on the path.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

ENTRY = '''
import hashlib, os

SPIN = float(os.environ.get("BENCH_SPIN_SECONDS", "0"))

def init():
    pass

def _work(path):
    with open(path) as fh:
        text = fh.read()
    if SPIN:
        import time
        end = time.process_time() + SPIN
        digest = text.encode()
        while time.process_time() < end:
            digest = hashlib.sha256(digest).digest()
    return f"{os.path.basename(path)} {len(text)}"

def run(mini_batch):
    return [_work(p) for p in mini_batch]
'''


def make_files(folder: str, count: int) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"f{i:06d}.txt")
        with open(path, "w") as fh:
            fh.write(f"item {i}\n")
        paths.append(path)
    return paths


def settings_for(source: str, size: int, processes: int):
    from aml_bridge.parallel import ParallelSettings

    return ParallelSettings(
        api="v1", entry_script="entry.py", source_directory=source, input_kind="file", inputs=["data"],
        side_inputs=[], output="out", mini_batch_size=size, partition_keys=None, node_count=1,
        process_count_per_node=processes, error_threshold=-1, allowed_failed_count=None,
        allowed_failed_percent=None, run_invocation_timeout=600, run_max_try=3, output_action="append_row",
        append_row_file_name="out.txt", logging_level="INFO", environment=None, environment_version=None)


WORK_ROOT: str | None = None  # --work-root: where the driver's work folder (its ledger) lives


def driver(source: str, batches: list, processes: int, scratch: str) -> float:
    from aml_bridge.parallel.driver import run_parallel

    work = tempfile.mkdtemp(dir=WORK_ROOT or scratch)
    start = time.perf_counter()
    summary = run_parallel(settings_for(source, 10, processes), batches, os.path.join(work, "w"),
                           os.path.join(work, "out"), processes)
    elapsed = time.perf_counter() - start
    assert summary.status == "Completed" and summary.succeeded_items == sum(len(b["files"]) for b in batches)
    return elapsed


_module = None


def _pool_init(path: str) -> None:
    global _module
    from aml_bridge.parallel.worker import import_entry_script

    _module = import_entry_script(path)
    _module.init()


def _pool_run(files: list[str]) -> list[str]:
    return _module.run(files)


def pool(source: str, batches: list, processes: int, scratch: str) -> float:
    """The baseline: a fork Pool, init() per process, map over the same mini-batches, lines written out."""
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes, _pool_init, (os.path.join(source, "entry.py"),)) as p:
        results = p.map(_pool_run, [b["files"] for b in batches], chunksize=1)
    with open(os.path.join(tempfile.mkdtemp(dir=scratch), "out.txt"), "w") as fh:
        for lines in results:
            fh.writelines(f"{line}\n" for line in lines)
    return time.perf_counter() - start


def compare(label: str, source: str, batches: list, processes: int, repeats: int, scratch: str) -> tuple:
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(driver(source, batches, processes, scratch))
        theirs.append(pool(source, batches, processes, scratch))
    d, p = statistics.median(ours), statistics.median(theirs)
    print(f"| {label} | {processes} | {d:.3f} | {p:.3f} | {d / p:.3f} |", flush=True)
    return d, p


MEMORY_PROBE = '''
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
from bench.parallel import settings_for
from aml_bridge.parallel import manifest
from aml_bridge.parallel.driver import run_parallel

def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS")) / 1024

before = rss_mb()
paths = sorted(os.path.join({folder!r}, n) for n in os.listdir({folder!r}))
batches = manifest.file_batches(paths, 10)
summary = run_parallel(settings_for({source!r}, 10, 2), batches, {work!r}, {out!r}, 2)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"before": before, "peak": peak, "status": summary.status, "items": summary.succeeded_items,
                  "seconds": summary.seconds}}))
'''


def memory(source: str, count: int, scratch: str) -> None:
    """Peak RSS of the driver's own process (RUSAGE_SELF excludes its workers) on `count` files."""
    import json

    folder = os.path.join(scratch, "many")
    make_files(folder, count)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = MEMORY_PROBE.format(root=root, folder=folder, source=source, work=os.path.join(scratch, "mw"),
                               out=os.path.join(scratch, "mout"))
    found = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                      text=True).stdout.strip().splitlines()[-1])
    assert found["status"] == "Completed" and found["items"] == count
    growth = found["peak"] - found["before"]
    print(f"\nmemory: {count:,} files, {count // 10:,} mini-batches in {found['seconds']:.1f} s: driver RSS "
          f"{found['before']:.0f} MB before, peak {found['peak']:.0f} MB, growth {growth:.0f} MB (target < 200 MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--spin-ms", type=float, default=2.0, help="CPU per item in the cpu case")
    parser.add_argument("--memory-files", type=int, default=100_000, help="0 skips the memory case")
    parser.add_argument("--model-rows", type=int, default=100_000, help="0 skips the model case")
    parser.add_argument("--work-root", help="folder for the driver's work folders (default: the scratch folder "
                                            "on the temp dir's file system; /dev/shm shows the ledger's file cost)")
    args = parser.parse_args()
    global WORK_ROOT
    WORK_ROOT = args.work_root

    from aml_bridge.parallel import manifest

    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "src")
        os.makedirs(source)
        with open(os.path.join(source, "entry.py"), "w") as fh:
            fh.write(ENTRY)
        batches = manifest.file_batches(make_files(os.path.join(scratch, "files"), args.files), 10)
        print(f"{args.files:,} files, mini_batch_size=10 ({len(batches)} mini-batches), medians of {args.repeats}; "
              f"driver work folders under {WORK_ROOT or scratch}\n")
        print("| case | processes | driver s | Pool s | driver / Pool |")
        print("|---|---|---|---|---|")
        small = compare("small files", source, batches, 2, args.repeats, scratch)
        os.environ["BENCH_SPIN_SECONDS"] = str(args.spin_ms / 1000)
        cpu2 = compare(f"cpu {args.spin_ms:g} ms/item", source, batches, 2, args.repeats, scratch)
        cpu1 = compare(f"cpu {args.spin_ms:g} ms/item", source, batches, 1, max(1, args.repeats // 2), scratch)
        del os.environ["BENCH_SPIN_SECONDS"]
        print(f"\nsmall files: driver/Pool {small[0] / small[1]:.3f} (target <= 1.15)")
        print(f"cpu-bound: driver/Pool {cpu2[0] / cpu2[1]:.3f} (target <= 1.10)")
        print(f"cpu-bound 1 -> 2 processes: driver {cpu1[0] / cpu2[0]:.2f}x faster (target >= 1.8x)")
        if args.memory_files:
            memory(source, args.memory_files, scratch)
    if args.model_rows:
        print("\nmodel-scoring case (bench/parallel_model.py):", flush=True)
        subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "parallel_model.py"),
                        "--rows", str(args.model_rows), "--repeats", str(max(3, args.repeats // 2))], check=True)


if __name__ == "__main__":
    main()
