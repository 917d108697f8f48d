"""What `run()` gets for one mini-batch, and for how long: S3 files of a file mini-batch are fetched
into a scratch folder of this worker just before `run()` and removed right after it, so no node
ever holds more of the input than the mini-batch in flight."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import manifest, remote


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

    folder = tempfile.mkdtemp(prefix=f"aml-bridge-mb{batch['id']}-{os.getpid()}-")
    try:
        yield remote.fetch(files, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["mini_batch_data"]
