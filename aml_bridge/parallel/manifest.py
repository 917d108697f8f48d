"""The manifest: every mini-batch of a parallel step, as JSON, built once and written to the datastore.

A mini-batch is a dict with an `id` (its position, also the output order) and one of:
`files` (file input), `chunks` (tabular: `{"file", "start", "end"}` byte ranges of a CSV or
`{"file", "rows": [a, b]}` row ranges of a Parquet file; never across a file boundary), or
`files` + `partition_key_value` (one combination of `partition_keys`). A file is a local path,
or an S3 object pinned at listing (a dict, see remote.py) that the worker reads with ranged GETs
or fetches for its mini-batch only. The manifest is written as the input is listed, so a long
listing is never held whole. pandas and pyarrow are imported only for tabular input, so a
file-input driver stays light.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from . import remote

MiniBatch = dict[str, Any]
Entry = str | dict[str, Any]  # a local path, or a pinned S3 object (remote.py)
_LINE_PROBE = 16 << 10  # bytes per ranged GET when looking for a line end on S3


def iter_file_batches(entries: Iterable[Entry], size: int) -> Iterator[MiniBatch]:
    """Chunk a stream of files by count (25 files, size 10 -> 10, 10, 5); every file exactly once."""
    found = iter(entries)
    for index in itertools.count():
        files = list(itertools.islice(found, size))
        if not files:
            return
        yield {"id": index, "files": files}


def file_batches(paths: list[str], size: int) -> list[MiniBatch]:
    """Chunk a file list by count (25 files, size 10 -> 10, 10, 5); every path exactly once."""
    return list(iter_file_batches(paths, size))


def rank_batches(count: int) -> list[MiniBatch]:
    """`--rank_mini_batch_count N`: N input-less mini-batches."""
    return [{"id": i, "files": []} for i in range(count)]


def _name(entry: Entry) -> str:
    return entry["path"] if remote.is_remote(entry) else entry  # type: ignore[index,return-value]


def _size(entry: Entry) -> int:
    return int(entry["size"]) if remote.is_remote(entry) else os.path.getsize(entry)  # type: ignore[index,arg-type]


@contextmanager
def opened(entry: Entry, buffer_size: int = 1 << 20) -> Iterator[IO[bytes]]:
    """A seekable binary stream of the file: the local file, or ranged GETs of the pinned object."""
    if remote.is_remote(entry):
        with remote.open_entry(entry, buffer_size) as handle:  # type: ignore[arg-type]
            yield handle
    else:
        with open(entry, "rb") as handle:  # type: ignore[arg-type]
            yield handle


@contextmanager
def _arrow_source(entry: Entry) -> Iterator[Any]:
    """What pyarrow reads: a local path (its own fast reader), or the object's raw stream: each of
    pyarrow's reads (footer, column chunks) one ranged GET of just those bytes."""
    if remote.is_remote(entry):
        with opened(entry, 0) as handle:
            yield handle
    else:
        yield entry


def _csv_chunks(entry: Entry, size: int) -> list[dict[str, Any]]:
    """Byte ranges of whole data lines (the header is re-read per chunk). Quoted newlines are not supported.
    On S3 each boundary costs one small ranged GET: the object is never read whole here."""
    total = _size(entry)
    with opened(entry, _LINE_PROBE) as fh:
        fh.readline()
        pos, chunks = fh.tell(), []
        while pos < total:
            end = total
            if pos + size < total:
                fh.seek(pos + size - 1)
                fh.readline()
                end = fh.tell()
            chunks.append({"file": entry, "start": pos, "end": end})
            pos = end
    return chunks


def _parquet_chunks(entry: Entry, size: int) -> list[dict[str, Any]]:
    """Row ranges of about `size` bytes, estimated from the row groups' sizes (read from the footer only)."""
    import pyarrow.parquet as pq

    with _arrow_source(entry) as source:
        meta = pq.ParquetFile(source).metadata
    chunks: list[dict[str, Any]] = []
    row = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        parts = max(1, math.ceil(group.total_byte_size / size))
        step = max(1, math.ceil(group.num_rows / parts))
        for start in range(0, group.num_rows, step):
            chunks.append({"file": entry, "rows": [row + start, row + min(start + step, group.num_rows)]})
        row += group.num_rows
    return _merge_small(chunks, meta.num_rows, _size(entry), size)


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


def _is_parquet(entry: Entry) -> bool:
    return _name(entry).lower().endswith((".parquet", ".pq"))


def iter_tabular_batches(entries: Iterable[Entry], size: int) -> Iterator[MiniBatch]:
    """CSV/Parquet files chunked by about `size` bytes; a chunk never crosses a file boundary."""
    chunks = (c for e in entries for c in (_parquet_chunks(e, size) if _is_parquet(e) else _csv_chunks(e, size)))
    for index, chunk in enumerate(chunks):
        yield {"id": index, "chunks": [chunk]}


def tabular_batches(paths: list[str], size: int) -> list[MiniBatch]:
    """CSV/Parquet files chunked by about `size` bytes; a chunk never crosses a file boundary."""
    return list(iter_tabular_batches(paths, size))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def partition_batches(paths: Iterable[Entry], keys: list[str]) -> list[MiniBatch]:
    """One mini-batch per distinct combination of `keys` across the tabular files, in sorted order
    (only the key columns are read here)."""
    combos: dict[tuple[Any, ...], dict[str, Entry]] = {}
    for path in paths:
        frame = read_table(path, columns=keys)
        for values in frame[keys].drop_duplicates().itertuples(index=False, name=None):
            combos.setdefault(tuple(_plain(v) for v in values), {})[remote.label(path)] = path
    return [{"id": i, "files": [found for _, found in sorted(combos[combo].items())],
             "partition_key_value": dict(zip(keys, combo))}
            for i, combo in enumerate(sorted(combos, key=repr))]


def read_table(path: Entry, columns: list[str] | None = None) -> Any:
    """A whole CSV or Parquet file (streamed from S3, never copied), or only `columns` of it."""
    import pandas as pd

    with _arrow_source(path) if _is_parquet(path) else opened(path, 8 << 20) as source:
        if _is_parquet(path):
            return pd.read_parquet(source, columns=columns)
        return pd.read_csv(source, usecols=columns)


def _read_rows(entry: Entry, start: int, end: int) -> Any:
    """Rows [start, end) of a Parquet file: the footer, then only the row groups that hold them."""
    import pyarrow.parquet as pq

    with _arrow_source(entry) as source:
        parquet = pq.ParquetFile(source)
        groups, first, row = [], None, 0
        for g in range(parquet.metadata.num_row_groups):
            count = parquet.metadata.row_group(g).num_rows
            if row < end and row + count > start:
                groups.append(g)
                first = row if first is None else first
            row += count
        table = parquet.read_row_groups(groups, use_pandas_metadata=True)
    return table.slice(start - (first or 0), end - start).to_pandas()


def _read_chunk(chunk: dict[str, Any]) -> Any:
    import io

    import pandas as pd

    if "rows" in chunk:
        return _read_rows(chunk["file"], *chunk["rows"])
    with opened(chunk["file"], _LINE_PROBE) as fh:
        header = fh.readline()
        fh.seek(chunk["start"])
        body = fh.read(chunk["end"] - chunk["start"])
    return pd.read_csv(io.BytesIO(header + body))


def load(batch: MiniBatch) -> Any:
    """What `run()` receives: a list of files (file input) or a DataFrame (tabular, partitioned).
    S3 files of a file mini-batch are fetched by `loader.mini_batch_data`, not here."""
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


def batches(input_kind: str, paths: Iterable[Entry], mini_batch_size: int | None,
            partition_keys: list[str] | None = None, rank_mini_batch_count: int = 0) -> Iterator[MiniBatch]:
    """The manifest's mini-batches, made as the input is listed (`input_kind` is `file` or `tabular`)."""
    from .config import default_mini_batch_size

    found = iter(paths)
    first = next(found, None)
    if first is None:
        yield from rank_batches(rank_mini_batch_count)
        return
    found = itertools.chain([first], found)
    if partition_keys:
        yield from partition_batches(found, partition_keys)
        return
    size = mini_batch_size or default_mini_batch_size(input_kind)
    yield from iter_tabular_batches(found, size) if input_kind == "tabular" else iter_file_batches(found, size)


def build(input_kind: str, paths: Iterable[Entry], mini_batch_size: int | None,
          partition_keys: list[str] | None = None, rank_mini_batch_count: int = 0) -> list[MiniBatch]:
    """The whole manifest as a list (`batches`, for callers that need it at once)."""
    return list(batches(input_kind, paths, mini_batch_size, partition_keys, rank_mini_batch_count))


def write(path: str, mini_batches: Iterable[MiniBatch]) -> int:
    """Write atomically, so a reader never sees half a manifest; one mini-batch at a time, so a
    streamed listing is never held whole. Returns the count."""
    tmp = f"{path}.tmp{os.getpid()}"
    count = 0
    try:
        with open(tmp, "w") as fh:
            fh.write('{"version": 1, "mini_batches": [')
            for count, batch in enumerate(mini_batches, start=1):
                fh.write(("," if count > 1 else "") + json.dumps(batch))
            fh.write("]}")
        os.replace(tmp, path)
    except BaseException:  # a failed listing leaves no half manifest behind
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return count


def read(path: str) -> list[MiniBatch]:
    with open(path) as fh:
        return json.load(fh)["mini_batches"]


__all__ = ["Entry", "MiniBatch", "batches", "build", "file_batches", "iter_file_batches", "iter_tabular_batches",
           "load", "opened", "partition_batches", "rank_batches", "read", "read_table", "tabular_batches", "write"]
