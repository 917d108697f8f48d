"""Isolated environments: first build vs reuse of one requirement set, and the plain-pip baseline.

Baseline: what a job would pay without the cache (a fresh `python -m venv` + `pip install` every
run), measured in the same run. Needs the package index (pip's ordinary client).

    .venv/bin/python -P bench/environments.py [--requirement toolz==1.2.0] [--reuses 20]

(`-P`: bench/logging.py would shadow the standard library's logging module.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from aml_bridge.train.environments import ensure_venv


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requirement", default="toolz==1.2.0")
    parser.add_argument("--reuses", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        ensure_venv([args.requirement], [], root, say=lambda _: None)
        build = time.perf_counter() - started
        reuses = []
        for _ in range(args.reuses):
            started = time.perf_counter()
            ensure_venv([args.requirement], [], root, say=lambda _: None)
            reuses.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain = os.path.join(root, "plain")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", plain], check=True)
        subprocess.run([sys.executable, "-m", "pip", "--python", os.path.join(plain, "bin", "python"), "install",
                        "-q", args.requirement], check=True, capture_output=True)
        baseline = time.perf_counter() - started
    reuse = statistics.median(reuses)
    print(f"requirement {args.requirement}")
    print(f"baseline: fresh venv + pip install per run  {baseline:8.3f} s")
    print(f"first build (cached afterwards)             {build:8.3f} s  ({build / baseline:.2f}x baseline)")
    print(f"reuse, median of {args.reuses:<3}                      {reuse * 1000:8.3f} ms ({baseline / reuse:,.0f}x faster "
          "than baseline)")


if __name__ == "__main__":
    main()
