"""`run.input_datasets` inside a step: Azure's `AZUREML_DATASET_ENVIRONMENT_VARS` read back.

The variable lists `NAME:mode` pairs; each NAME variable holds a local path (mount/download) or,
in `direct` mode, a dataset id that resolves to the Dataset object.
"""

from __future__ import annotations

import os
from typing import Any


def input_datasets(workspace: Any) -> dict[str, Any]:
    from .factory import Dataset

    result: dict[str, Any] = {}
    for item in filter(None, os.environ.get("AZUREML_DATASET_ENVIRONMENT_VARS", "").split(",")):
        name, _, mode = item.partition(":")
        value = os.environ.get(name)
        if value is not None:
            result[name] = Dataset.get_by_id(workspace, value) if mode == "direct" else value
    return result


__all__ = ["input_datasets"]
