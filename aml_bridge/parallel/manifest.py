"""The manifest: every mini-batch of a parallel step, as JSON, built once and written to the datastore.

A mini-batch is a dict with an `id` (its position, also the output order) and one of:
`files` (file input), `chunks` (tabular: `{"file", "start", "end"}` byte ranges of a CSV or
`{"file", "rows": [a, b]}` row ranges of a Parquet file; never across a file boundary), or
`files` + `partition_key_value` (one combination of `partition_keys`). pandas and pyarrow are
imported only for tabular input, so a file-input driver stays light.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

MiniBatch = dict[str, Any]


def file_batches(paths: list[str], size: int) -> list[MiniBatch]:
    """Chunk a file list by count (25 files, size 10 -> 10, 10, 5); every path exactly once."""
    return [{"id": i, "files": paths[start:start + size]}
            for i, start in enumerate(range(0, len(paths), size))]


def rank_batches(count: int) -> list[MiniBatch]:
    """`--rank_mini_batch_count N`: N input-less mini-batches."""
    return [{"id": i, "files": []} for i in range(count)]


def _csv_chunks(path: str, size: int) -> list[dict[str, Any]]:
    """Byte ranges of whole data lines (the header is re-read per chunk). Quoted newlines are not supported."""
    total = os.path.getsize(path)
    with open(path, "rb") as fh:
        fh.readline()
        pos, chunks = fh.tell(), []
        while pos < total:
            end = total
            if pos + size < total:
                fh.seek(pos + size - 1)
                fh.readline()
                end = fh.tell()
            chunks.append({"file": path, "start": pos, "end": end})
            pos = end
    return chunks


def _parquet_chunks(path: str, size: int) -> list[dict[str, Any]]:
    """Row ranges of about `size` bytes, estimated from the row groups' sizes."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    chunks: list[dict[str, Any]] = []
    row = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        parts = max(1, math.ceil(group.total_byte_size / size))
        step = max(1, math.ceil(group.num_rows / parts))
        for start in range(0, group.num_rows, step):
            chunks.append({"file": path, "rows": [row + start, row + min(start + step, group.num_rows)]})
        row += group.num_rows
    return _merge_small(chunks, meta.num_rows, os.path.getsize(path), size)


def _merge_small(chunks: list[dict[str, Any]], rows: int, nbytes: int, size: int) -> list[dict[str, Any]]:
    """Join consecutive row ranges while their estimated bytes stay within `size`."""
    per_row = nbytes / rows if rows else 0
    merged: list[dict[str, Any]] = []
    for chunk in chunks:
        last = merged[-1] if merged else None
        if last and (chunk["rows"][1] - last["rows"][0]) * per_row <= size:
            last["rows"][1] = chunk["rows"][1]
        else:
            merged.append({"file": chunk["file"], "rows": list(chunk["rows"])})
    return merged


def _is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq"))


def tabular_batches(paths: list[str], size: int) -> list[MiniBatch]:
    """CSV/Parquet files chunked by about `size` bytes; a chunk never crosses a file boundary."""
    chunks = [c for p in paths for c in (_parquet_chunks(p, size) if _is_parquet(p) else _csv_chunks(p, size))]
    return [{"id": i, "chunks": [c]} for i, c in enumerate(chunks)]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def partition_batches(paths: list[str], keys: list[str]) -> list[MiniBatch]:
    """One mini-batch per distinct combination of `keys` across the tabular files, in sorted order."""
    combos: dict[tuple[Any, ...], set[str]] = {}
    for path in paths:
        frame = read_table(path)
        for values in frame[keys].drop_duplicates().itertuples(index=False, name=None):
            combos.setdefault(tuple(_plain(v) for v in values), set()).add(path)
    return [{"id": i, "files": sorted(combos[combo]), "partition_key_value": dict(zip(keys, combo))}
            for i, combo in enumerate(sorted(combos, key=repr))]


def read_table(path: str) -> Any:
    import pandas as pd

    return pd.read_parquet(path) if _is_parquet(path) else pd.read_csv(path)


def _read_chunk(chunk: dict[str, Any]) -> Any:
    import io

    import pandas as pd

    path = chunk["file"]
    if "rows" in chunk:
        start, end = chunk["rows"]
        import pyarrow.parquet as pq

        return pq.read_table(path).slice(start, end - start).to_pandas()
    with open(path, "rb") as fh:
        header = fh.readline()
        fh.seek(chunk["start"])
        body = fh.read(chunk["end"] - chunk["start"])
    return pd.read_csv(io.BytesIO(header + body))


def load(batch: MiniBatch) -> Any:
    """What `run()` receives: a list of paths (file input) or a DataFrame (tabular, partitioned)."""
    if "chunks" in batch:
        import pandas as pd

        return pd.concat([_read_chunk(c) for c in batch["chunks"]], ignore_index=True)
    if "partition_key_value" in batch:
        import pandas as pd

        frame = pd.concat([read_table(p) for p in batch["files"]], ignore_index=True)
        for key, value in batch["partition_key_value"].items():
            frame = frame[frame[key] == value]
        return frame.reset_index(drop=True)
    return list(batch["files"])


def build(input_kind: str, paths: list[str], mini_batch_size: int | None,
          partition_keys: list[str] | None = None, rank_mini_batch_count: int = 0) -> list[MiniBatch]:
    """The manifest for a step's local input paths (`input_kind` is `file` or `tabular`)."""
    from .config import default_mini_batch_size

    if rank_mini_batch_count and not paths:
        return rank_batches(rank_mini_batch_count)
    if partition_keys:
        return partition_batches(paths, partition_keys)
    size = mini_batch_size or default_mini_batch_size(input_kind)
    return tabular_batches(paths, size) if input_kind == "tabular" else file_batches(paths, size)


def write(path: str, batches: list[MiniBatch]) -> None:
    """Write atomically, so a reader never sees half a manifest."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump({"version": 1, "mini_batches": batches}, fh)
    os.replace(tmp, path)


def read(path: str) -> list[MiniBatch]:
    with open(path) as fh:
        return json.load(fh)["mini_batches"]


__all__ = ["MiniBatch", "build", "file_batches", "load", "partition_batches", "rank_batches", "read",
           "tabular_batches", "write"]
