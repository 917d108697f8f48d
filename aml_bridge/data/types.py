"""Column types and header modes of tabular datasets (`azureml.data.DataType`, `PromoteHeadersBehavior`).

They are recorded as plain data so a dataset definition stays JSON; pandas applies them on read.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class PromoteHeadersBehavior(IntEnum):
    """How column headers are taken from delimited files."""

    NO_HEADERS = 0
    ONLY_FIRST_FILE_HAS_HEADERS = 1
    COMBINE_ALL_FILES_HEADERS = 2
    ALL_FILES_HAVE_SAME_HEADERS = 3


def header_mode(header: bool | int | PromoteHeadersBehavior) -> int:
    """Azure accepts a bool or a PromoteHeadersBehavior for `header`."""
    if header is True:
        return int(PromoteHeadersBehavior.ALL_FILES_HAVE_SAME_HEADERS)
    if header is False:
        return int(PromoteHeadersBehavior.NO_HEADERS)
    return int(PromoteHeadersBehavior(header))


class DataType:
    """A column conversion for `set_column_types`, e.g. `DataType.to_float()`."""

    def __init__(self, kind: str, formats: list[str] | None = None) -> None:
        self.kind = kind
        self.formats = formats

    @staticmethod
    def to_string() -> DataType:
        return DataType("string")

    @staticmethod
    def to_long() -> DataType:
        return DataType("long")

    @staticmethod
    def to_float(decimal_mark: str = ".") -> DataType:
        return DataType("float")

    @staticmethod
    def to_bool() -> DataType:
        return DataType("bool")

    @staticmethod
    def to_datetime(formats: str | list[str] | None = None) -> DataType:
        return DataType("datetime", [formats] if isinstance(formats, str) else formats)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "formats": self.formats}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> DataType:
        return DataType(data["kind"], data.get("formats"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataType) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.kind)

    def __repr__(self) -> str:
        return f"DataType({self.kind!r})"


def column_types_to_dict(types: dict[str, DataType] | None) -> dict[str, dict[str, Any]] | None:
    return {col: t.to_dict() for col, t in types.items()} if types else None


__all__ = ["DataType", "PromoteHeadersBehavior", "column_types_to_dict", "header_mode"]
