"""Names Azure derives from user names: env variables, port names, node ids; and Airflow task ids."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

PORT_NAME_RE = re.compile(r"^\w+$")
TASK_ID_MAX = 250
_TASK_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]")


def param_env_var(name: str) -> str:
    """`AML_PARAMETER_<name>` with every `[~\\W]` character replaced by `_` (Azure's rule)."""
    return "AML_PARAMETER_" + re.sub(r"[~\W]", "_", name)


def dataref_env_var(name: str) -> str:
    """The variable carrying a PipelineData/DataReference port's local path."""
    return f"AZUREML_DATAREFERENCE_{name}"


def new_node_id() -> str:
    """Azure's node id: the first 8 characters of a uuid4 (display only; never in a plan)."""
    return str(uuid.uuid4())[:8]


def is_valid_port_name(name: object) -> bool:
    return isinstance(name, str) and bool(PORT_NAME_RE.match(name))


def task_ids(names: Iterable[str], reserved: Iterable[str] = ()) -> list[str]:
    """Airflow-safe (`[A-Za-z0-9_.-]`, at most 250 chars), unique ids; repeats get `_2`, `_3`, ..."""
    taken = set(reserved)
    result = []
    for name in names:
        base = _TASK_ID_BAD.sub("_", name)[:TASK_ID_MAX] or "step"
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            suffix = f"_{n}"
            candidate = base[: TASK_ID_MAX - len(suffix)] + suffix
        taken.add(candidate)
        result.append(candidate)
    return result


__all__ = ["PORT_NAME_RE", "TASK_ID_MAX", "dataref_env_var", "is_valid_port_name", "new_node_id",
           "param_env_var", "task_ids"]
