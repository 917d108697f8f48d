"""Azure's `script_params` → argv flattening (AML_API §2.5, checklist item 55).

Keys then values in insertion order; a non-string iterable value is spliced in (nested
iterables `str()`-ed); data objects become their placeholders; finally every `None` and `""`
item is dropped, so `{"--flag": ""}` leaves a bare flag while `0` and `False` stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import UserErrorException


def flatten_script_params(script_params: dict[Any, Any] | None) -> list[Any]:
    """The argument list `script_params` stands for (values not yet `str()`-ed, as in Azure)."""
    items: list[Any] = []
    for key, value in (script_params or {}).items():
        items.append(_placeholder(key))
        if _spliced(value):
            items.extend(_placeholder(v) if not _spliced(v) else str(v) for v in value)
        else:
            items.append(_placeholder(value))
    return [item for item in items if item is not None and item != ""]


def _spliced(value: Any) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, dict)) and not _is_data(value)


def _is_data(value: Any) -> bool:
    from ..data.data_reference import DataReference
    from ..data.dataset_consumption_config import DatasetConsumptionConfig
    from ..data.output_dataset_config import OutputDatasetConfig

    return isinstance(value, (DataReference, DatasetConsumptionConfig, OutputDatasetConfig))


def _placeholder(value: Any) -> Any:
    """Azure's argv placeholder of a data object; other values unchanged."""
    from ..data.data_reference import DataReference
    from ..data.dataset_consumption_config import DatasetConsumptionConfig
    from ..data.output_dataset_config import OutputDatasetConfig

    if isinstance(value, DataReference):
        return str(value)
    if isinstance(value, DatasetConsumptionConfig):
        return value if value.mode == "direct" else f"DatasetConsumptionConfig:{value.name}"
    if isinstance(value, OutputDatasetConfig):
        return f"DatasetOutputConfig:{value.name}"
    if type(value).__name__ in ("Data", "OutputData"):
        raise UserErrorException(f"{type(value).__name__} objects cannot be used in script_params; use "
                                 "DataReference or a dataset's as_named_input(...) instead.")
    return value


__all__ = ["flatten_script_params"]
