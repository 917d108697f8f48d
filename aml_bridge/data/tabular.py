"""Reading tabular datasets into pandas. pandas is imported here, inside functions only.

Files on remote storage are streamed one at a time (ranged reads), never copied whole first.
The format dict is the dataset definition's `format` entry; transforms (`take`, `skip`,
`keep_columns`, `drop_columns`) are applied in the order they were recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import UserErrorException
from .sources import ResolvedFile
from .types import PromoteHeadersBehavior

_DATE_TOKENS = {"yyyy": r"\d{4}", "MM": r"\d{2}", "dd": r"\d{2}", "HH": r"\d{2}", "mm": r"\d{2}", "ss": r"\d{2}"}
_STRPTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


def partition_values(partition_format: str, relative: str) -> dict[str, Any]:
    """Columns encoded in a file's path, e.g. `/{Dept}/{Day:yyyy/MM/dd}/data.csv`."""
    import datetime

    regex, dates = "", {}
    for literal, name, fmt in re.findall(r"([^{]*)(?:\{(\w+)(?::([^}]*))?\})?", partition_format):
        regex += re.escape(literal)
        if not name:
            continue
        body = fmt or ""
        if fmt:
            dates[name] = re.sub("|".join(_STRPTIME), lambda m: _STRPTIME[m.group(0)], fmt)
            for token, pattern in _DATE_TOKENS.items():
                body = body.replace(token, pattern)
        regex += f"(?P<{name}>{body if fmt else '[^/]+'})"
    match = re.search(regex.lstrip("/") + r"\Z", relative.lstrip("/"))
    if not match:
        raise UserErrorException(f"Path {relative!r} does not match partition_format {partition_format!r}")
    values: dict[str, Any] = match.groupdict()
    for name, fmt in dates.items():
        values[name] = datetime.datetime.strptime(values[name], fmt)
    return values


@contextmanager
def _source(file: ResolvedFile) -> Iterator[Any]:
    """What pandas reads: a local path, a URL, or a streamed (seekable) object from remote storage."""
    if file.local is not None or file.backend is None:
        yield file.local or file.path
        return
    with file.backend.open(file.path) as handle:
        yield handle


def _read_one(file: ResolvedFile, fmt: dict[str, Any], first: bool) -> Any:
    with _source(file) as source:
        return _parse(source, fmt, first)


def _parse(source: Any, fmt: dict[str, Any], first: bool) -> Any:
    import pandas as pd

    if fmt["kind"] == "parquet":
        return pd.read_parquet(source)
    mode = fmt.get("header", int(PromoteHeadersBehavior.ALL_FILES_HAVE_SAME_HEADERS))
    has_header = mode in (2, 3) or (mode == 1 and first)
    frame = pd.read_csv(source, sep=fmt.get("separator", ","), header=0 if has_header else None,
                        encoding=fmt.get("encoding") or "utf8",
                        dtype=None if fmt.get("infer_column_types", True) else str,
                        keep_default_na=not fmt.get("empty_as_string", False))
    if not has_header:
        frame.columns = [f"Column{i + 1}" for i in range(len(frame.columns))]
    return frame


def read_frame(files: list[ResolvedFile], fmt: dict[str, Any], transforms: list[dict[str, Any]]) -> Any:
    """One DataFrame for all files, with path/partition columns, column types and transforms."""
    import pandas as pd

    frames = []
    for index, file in enumerate(files):
        frame = _read_one(file, fmt, index == 0)
        if fmt.get("partition_format"):
            for column, value in partition_values(fmt["partition_format"], file.relative).items():
                frame[column] = value
        if fmt.get("include_path"):
            frame.insert(0, "Path", "/" + file.relative)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = _set_types(frame, fmt.get("column_types") or {})
    return apply_transforms(frame, transforms)


def _set_types(frame: Any, types: dict[str, dict[str, Any]]) -> Any:
    import pandas as pd

    for column, spec in types.items():
        if column not in frame.columns:
            continue
        kind = spec["kind"]
        if kind == "datetime":
            fmt = (spec.get("formats") or [None])[0]
            frame[column] = pd.to_datetime(frame[column], format=fmt, errors="coerce")
        elif kind in ("long", "float"):
            values = pd.to_numeric(frame[column], errors="coerce")
            frame[column] = values.astype("Int64") if kind == "long" else values.astype(float)
        elif kind == "bool":
            frame[column] = frame[column].map(lambda v: str(v).strip().lower() in ("true", "1", "yes"))
        else:
            frame[column] = frame[column].astype(str)
    return frame


def apply_transforms(frame: Any, transforms: list[dict[str, Any]]) -> Any:
    for step in transforms:
        op = step["op"]
        if op == "take":
            frame = frame.head(step["count"])
        elif op == "skip":
            frame = frame.iloc[step["count"]:]
        elif op == "keep_columns":
            frame = frame[[c for c in frame.columns if c in step["columns"]]]
        elif op == "drop_columns":
            frame = frame.drop(columns=[c for c in step["columns"] if c in frame.columns])
    return frame.reset_index(drop=True)


__all__ = ["apply_transforms", "partition_values", "read_frame"]
