"""Azure's metric value rules: what each `log_*` accepts, how values are typed, how reads collapse.

Pure functions, no I/O: the `Run` methods call these, then hand typed records to the writer.
numpy is recognised by type name so this module never imports it.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable
from typing import Any

from .errors import AzureMLException, UserErrorException
from .records import ARTIFACT, ROW, Metric

_NUMPY_FLOATS = {"float16", "float32", "float64"}
_NUMPY_INTS = {"int8", "int16", "int32", "uint8", "uint16", "uint32"}
_PLAIN = (bool, int, float, str)


class MetricShapeError(UserErrorException, AttributeError):
    """Azure fails these inputs with AttributeError; this is both that and a clear UserError."""


def _numpy_scalar(value: Any) -> tuple[bool, Any]:
    """(recognised, converted) for numpy scalars Azure stores natively."""
    kind = type(value)
    if kind.__module__ != "numpy":
        return False, None
    name = kind.__name__
    if name in _NUMPY_FLOATS:
        return True, float(value)
    if name in _NUMPY_INTS:
        return True, int(value)
    if name == "bool_" or name == "bool":
        return True, bool(value)
    if name == "str_":
        return True, str(value)
    return False, None


def scalar_for_log(name: str, value: Any) -> Any:
    """Type a `run.log` value: native scalars kept, lists refused, anything else `repr()`-ed."""
    kind = type(value)
    if kind in _PLAIN or value is None:
        return value
    if kind in (list, range) or inspect.isgenerator(value) or inspect.isgeneratorfunction(value):
        raise UserErrorException("run.log does not support list type. Use run.log_list instead")
    recognised, converted = _numpy_scalar(value)
    return converted if recognised else repr(value)


def strict_scalar(value: Any, where: str) -> Any:
    """Type an element of `log_list`/`log_row`/`log_table`: only Azure's scalar types pass."""
    kind = type(value)
    if value is None or kind is bool or kind is float or kind is str:
        return value
    if kind is int:
        if sys.getsizeof(value) > 64:
            raise AzureMLException(f"{where}: the number {value} is too large", error_code="ArgumentSizeOutOfRangeType")
        return value
    recognised, converted = _numpy_scalar(value)
    if recognised:
        return converted
    raise AzureMLException(f"{where}: value of type {kind.__name__} is not supported", error_code="InvalidArgumentType")


def list_values(name: str, value: Iterable[Any]) -> list[Any]:
    """Materialise a `log_list` value; ints become floats when any element is a float."""
    items = [strict_scalar(v, f"log_list {name!r}") for v in value]
    if not items:
        raise MetricShapeError(f"log_list {name!r} got an empty list; nothing was logged")
    if any(type(v) is float for v in items):
        items = [float(v) if type(v) is int else v for v in items]
    return items


def row_values(name: str, columns: dict[str, Any]) -> dict[str, Any]:
    """Check one `log_row` row: scalars only, named columns."""
    row = {}
    for column, value in columns.items():
        if isinstance(value, (list, tuple, range)):
            raise AzureMLException(
                f"Rows cannot contain list values, column {column} contains a list", error_code="InvalidColumnData")
        row[column] = strict_scalar(value, f"log_row {name!r} column {column!r}")
    return row


def table_rows(name: str, table: Any) -> list[dict[str, Any]]:
    """Split a `log_table` dict of columns into rows, checking equal column lengths."""
    if not isinstance(table, dict):
        raise MetricShapeError(f"log_table {name!r} needs a dict of columns, got {type(table).__name__}")
    if not table:
        raise MetricShapeError(f"log_table {name!r} got an empty dict; nothing was logged")
    columns = {k: (list(v) if isinstance(v, (list, tuple, range)) or _is_array(v) else [v]) for k, v in table.items()}
    lengths = [(k, len(v)) for k, v in columns.items()]
    first_name, first_len = lengths[0]
    for column, length in lengths[1:]:
        if length != first_len:
            raise AzureMLException(
                f"Columns must have the same length, column {first_name} had length {first_len}, "
                f"however, column {column} had length {length}.", error_code="InvalidColumnLength")
    return [row_values(name, {k: v[i] for k, v in columns.items()}) for i in range(first_len)]


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0


def collapse(records: list[Metric], populate: Any = None) -> dict[str, Any]:
    """Azure's read shape: one value → scalar, several → list, rows → column dict.

    `populate` is called on artifact URIs when `get_metrics(populate=True)`.
    """
    by_name: dict[str, list[Metric]] = {}
    for record in records:
        by_name.setdefault(record.name, []).append(record)
    return {name: _collapse_one(name, recs, populate) for name, recs in by_name.items()}


def _collapse_one(name: str, records: list[Metric], populate: Any) -> Any:
    if records[0].kind == ARTIFACT:
        uri = records[0].value
        return populate(uri) if populate else uri
    if any(r.kind == ROW for r in records):
        rows = [r.value if r.kind == ROW else {name: r.value} for r in records]
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        if len(rows) == 1:
            return {c: rows[0].get(c) for c in columns}
        return {c: [row.get(c) for row in rows] for c in columns}
    values = [r.value for r in records]
    return values[0] if len(values) == 1 else values


__all__ = ["MetricShapeError", "collapse", "list_values", "row_values", "scalar_for_log", "strict_scalar",
           "table_rows"]
