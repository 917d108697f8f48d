"""What `run()` gets for one mini-batch, and for how long: S3 files of a file mini-batch are fetched
into a scratch folder of this worker just before `run()` and removed right after it, so no node
ever holds more of the input than the mini-batch in flight.

Scratch folders live in `<tmp>/aml-bridge-scratch/mb<id>-<pid>-*`; a worker killed mid-batch
cannot remove its own, so each worker removes those of dead processes when it first needs one.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import manifest, remote
from .ledger import pid_alive


@contextmanager
def mini_batch_data(batch: manifest.MiniBatch) -> Iterator[Any]:
    """Local paths (file input; S3 objects fetched for this mini-batch only) or a DataFrame (tabular:
    S3 objects read with ranged GETs, nothing written to disk)."""
    files = batch.get("files") or []
    if "partition_key_value" in batch or not any(remote.is_remote(f) for f in files):
        yield manifest.load(batch)
        return
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix=f"mb{batch['id']}-{os.getpid()}-", dir=_scratch_root())
    try:
        yield remote.fetch(files, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def _scratch_root() -> str:
    """The scratch parent, swept once per process of what dead workers left behind."""
    import shutil
    import tempfile

    root = os.path.join(tempfile.gettempdir(), "aml-bridge-scratch")
    os.makedirs(root, exist_ok=True)
    for name in os.listdir(root):
        pid = name.split("-")[1] if name.count("-") >= 2 else ""
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    return root


__all__ = ["mini_batch_data"]
