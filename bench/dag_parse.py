"""Benchmark: what a DAG file costs Airflow's DAG processor, against a minimal DAG in the same run.

Airflow 3's DAG processor imports Airflow once, pre-imports the `airflow.*` modules a file names, then
forks a child per file that builds a `BundleDagBag` and serialises its DAGs. This script does the
same: it imports Airflow, then for each repetition forks a child per file and times, in that child,
the parse (`BundleDagBag`) and the serialisation, and diffs `sys.modules` to list what the file pulled
in. Median of `--repeat` children; the minimal DAG (one EmptyOperator) is written to a temp folder.
Targets (issue 3): ≤ 150 ms over the minimal DAG; none of mlflow, boto3, pandas imported.
The CPU time of the same children is printed too (steadier than wall time on a shared machine), and a
warning names modules compiled from source at every parse (a stale or missing .pyc).

    .venv/bin/python bench/dag_parse.py DAG_FILE [--repeat 7] [--max-overhead-ms 150]
                                        [--forbid mlflow,boto3,pandas]
    .venv/bin/python bench/dag_parse.py --minimal     # the minimal DAG against itself: the noise floor

Exit status: 0 ok, 1 a limit exceeded or a forbidden module imported, 2 the file has import errors.
"""

from __future__ import annotations

import os
import sys

# bench/logging.py shadows the stdlib module: take bench/ off the path before anything imports logging.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import struct  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

MINIMAL_DAG = '''\
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id="bench_minimal", schedule=None):
    EmptyOperator(task_id="noop")
'''
HEAVY = ("mlflow", "boto3", "botocore", "pandas", "numpy", "sklearn", "scipy", "pyarrow", "matplotlib",
         "torch", "azure", "s3fs", "fsspec", "airflow.providers.amazon")


def isolate_airflow(home: Path) -> None:
    """A throw-away AIRFLOW_HOME and quiet logs, set before Airflow is imported."""
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
    })


def warm_up(folder: Path) -> None:
    """Bring this process to the state of a DAG processor that has parsed files before it forks a child.

    Airflow, the parsing and serialisation code and the minimal DAG's `airflow.*` imports are loaded
    (the processor pre-imports a file's `airflow.*` modules in its own process), so a child pays only
    for what its file adds.
    """
    folder.mkdir()
    (folder / "bench_warm_up.py").write_text(MINIMAL_DAG.replace("bench_minimal", "bench_warm_up"))
    parse_in_child(folder / "bench_warm_up.py")
    gc.freeze()  # as the DAG processor's manager does before it forks (no copy-on-write GC walk in children)


def parse_in_child(path: Path) -> dict:
    """Runs in a forked child: the work of `airflow.dag_processing.processor._parse_file`."""
    import structlog
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.dag_processing.processor import _pre_import_airflow_modules, _serialize_dags

    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "client"
    log = structlog.get_logger("bench")
    before = set(sys.modules)
    start = time.perf_counter()
    _pre_import_airflow_modules(str(path), log)  # done by the processor's manager, timed apart
    pre, cpu = time.perf_counter(), time.process_time()
    bag = BundleDagBag(dag_folder=str(path), bundle_path=path.parent, bundle_name="bench", load_op_links=False)
    parsed = time.perf_counter()
    _, errors = _serialize_dags(bag, log)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    new_modules = sorted(set(sys.modules) - before)
    return {"pre_ms": (pre - start) * 1e3, "parse_ms": (parsed - pre) * 1e3, "serialize_ms": (done - parsed) * 1e3,
            "cpu_ms": cpu * 1e3, "dags": len(bag.dags), "errors": {**bag.import_errors, **errors}, "new_modules": new_modules,
            "compiled_from_source": [m for m in new_modules if not _fresh_bytecode(sys.modules[m], path)]}


def _fresh_bytecode(module: object, dag_file: Path) -> bool:
    """False for a module imported from a `.py` whose `.pyc` is missing or stale: with
    PYTHONDONTWRITEBYTECODE set (as on this machine) it is compiled again at every parse."""
    source = getattr(module, "__spec__", None) and module.__spec__.origin
    if not source or not source.endswith(".py") or not getattr(module.__spec__, "cached", None):
        return True  # built-in, extension, namespace package, or a file run without a module spec
    if source == str(dag_file):
        return True  # the DAG file itself: Airflow compiles it at every parse, as it does the minimal DAG
    try:
        with open(module.__spec__.cached, "rb") as fh:
            header = fh.read(16)
        stat = os.stat(source)
    except OSError:
        return False
    flags, mtime, size = struct.unpack("<4xIII", header)
    return bool(flags) or (mtime, size) == (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)


def fork_measure(path: Path) -> dict:
    """One measurement in a freshly forked child of this warm process (as the DAG processor forks)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            payload = json.dumps(parse_in_child(path))
        except BaseException as error:  # report, never fall back into the parent's code
            payload = json.dumps({"crash": repr(error)})
        with os.fdopen(write_fd, "w") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        result = json.loads(pipe.read() or '{"crash": "child died"}')
    os.waitpid(pid, 0)
    if "crash" in result:
        raise SystemExit(f"parsing {path} crashed the child: {result['crash']}")
    return result


def summarise(samples: list[dict]) -> dict:
    """Median timings; modules and errors from the first sample (a parse is deterministic)."""
    median = {key: statistics.median(s[key] for s in samples) for key in ("pre_ms", "parse_ms", "serialize_ms", "cpu_ms")}
    median["total_ms"] = median["parse_ms"] + median["serialize_ms"]
    median["cpu_min_ms"] = min(s["cpu_ms"] for s in samples)
    return {**samples[0], **median, "samples": len(samples)}


def measure(files: dict[str, Path], repeat: int) -> dict[str, dict]:
    """Interleave the files so that machine noise hits them alike; one round only if a file is broken."""
    samples: dict[str, list[dict]] = {label: [] for label in files}
    for _ in range(repeat):
        for label, path in files.items():
            samples[label].append(fork_measure(path))
        if any(runs[0]["errors"] or not runs[0]["dags"] for runs in samples.values()):
            break
    return {label: summarise(runs) for label, runs in samples.items()}


def matching(modules: list[str], names: tuple[str, ...] | list[str]) -> list[str]:
    """The entries of `names` imported, themselves or through a submodule."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def packages(modules: list[str]) -> set[str]:
    """Distributions-ish: `airflow.providers.<name>` apart, the rest by top-level name, private ones left out."""
    groups = set()
    for module in modules:
        parts = module.split(".")
        if parts[:2] == ["airflow", "providers"] and len(parts) > 2:
            groups.add(".".join(parts[:3]))
        elif parts[0] == "airflow":
            groups.add("airflow (core)")
        elif not parts[0].startswith(("_", "unusual_prefix_")):
            groups.add(parts[0])
    return groups


def print_table(results: dict[str, dict]) -> None:
    import airflow

    samples = min(r["samples"] for r in results.values())
    print(f"DAG parse (Airflow {airflow.__version__}, fork of a warm process like the DAG processor, "
          f"median of {samples})")
    header = f"{'file':<44} {'dags':>4} {'pre-import':>10} {'parse':>8} {'serialize':>9} {'total':>8} {'modules':>7}"
    print(header)
    print("-" * len(header))
    for label, r in results.items():
        print(f"{label[-44:]:<44} {r['dags']:>4} {r['pre_ms']:>8.1f}ms {r['parse_ms']:>6.1f}ms "
              f"{r['serialize_ms']:>7.1f}ms {r['total_ms']:>6.1f}ms {len(r['new_modules']):>7}")


def verdict(base: dict, subject: dict, args: argparse.Namespace) -> int:
    """Print the comparison and the checks; return the exit status."""
    overhead = subject["total_ms"] - base["total_ms"]
    ratio = subject["total_ms"] / base["total_ms"] if base["total_ms"] else float("inf")
    limit = "" if args.max_overhead_ms is None else f" (limit {args.max_overhead_ms:g} ms)"
    print(f"\noverhead: {overhead:+.1f} ms, {ratio:.1f}x the minimal DAG{limit}; "
          f"CPU time of parse + serialize: {subject['cpu_ms'] - base['cpu_ms']:+.1f} ms median, "
          f"{subject['cpu_min_ms'] - base['cpu_min_ms']:+.1f} ms min (less sensitive to load)")
    extra = sorted(packages(subject["new_modules"]) - packages(base["new_modules"]))
    print(f"packages beyond the minimal DAG's: {', '.join(extra) or 'none'}")
    heavy_modules = matching(subject["new_modules"], HEAVY)
    print(f"heavy modules imported: {', '.join(heavy_modules) or 'none'}")
    if stale := subject["compiled_from_source"]:
        print(f"WARNING: {len(stale)} modules have a missing or stale .pyc and were compiled at every parse "
              f"(run `make venv`): {', '.join(stale[:8])}{' ...' if len(stale) > 8 else ''}")
    status = 0
    if subject["errors"] or not subject["dags"]:
        print(f"FAIL: the file did not yield a DAG: {json.dumps(subject['errors'], indent=2)}")
        return 2
    if args.max_overhead_ms is not None and overhead > args.max_overhead_ms:
        print(f"FAIL: overhead {overhead:.1f} ms > {args.max_overhead_ms:g} ms")
        status = 1
    if forbidden := matching(subject["new_modules"], args.forbid):
        print(f"FAIL: forbidden modules imported: {', '.join(forbidden)}")
        status = 1
    return status


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dag_file", nargs="?", type=Path, help="the DAG file to measure")
    parser.add_argument("--minimal", action="store_true", help="measure the minimal DAG against itself")
    parser.add_argument("--repeat", type=int, default=7, help="children per file (median)")
    parser.add_argument("--max-overhead-ms", type=float, help="fail if the file costs more than this over the minimal DAG")
    parser.add_argument("--forbid", type=lambda s: [m for m in s.split(",") if m], default=[],
                        help="comma-separated modules (and their submodules) the file must not import")
    args = parser.parse_args(argv)
    if not args.minimal and args.dag_file is None:
        parser.error("give a DAG_FILE, or --minimal")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        isolate_airflow(Path(tmp))
        minimal = Path(tmp, "minimal", "bench_minimal.py")
        minimal.parent.mkdir()
        minimal.write_text(MINIMAL_DAG)
        subject = minimal if args.minimal else args.dag_file.resolve()
        warm_up(Path(tmp, "warm-up"))
        files = {"minimal DAG (1 EmptyOperator)": minimal, f"{subject.name} (subject)": subject}
        results = measure(files, args.repeat)
        print_table(results)
        base, measured = results.values()
        return verdict(base, measured, args)


if __name__ == "__main__":
    sys.exit(main())
