"""Model references of `ParallelTask(type='model')`, normalised to one MLflow URI at plan time.

Accepted: `models:/<name>/<version or alias or stage>`, `models:/<name>@<alias>`,
`runs:/<run_id>/<path>`, an aml-bridge `Model` (its name and version), and Azure's
`azureml:<name>:<version>` / `azureml:<name>@<label>` (the same registry: aml-bridge's models
are MLflow registered models). Pure string work: a DAG file that plans a model step imports no
MLflow; the reference is resolved by the driver when the step runs.
"""

from __future__ import annotations

import re
from typing import Any

from ..pipeline.errors import PipelineDefinitionError

_NAME = r"[A-Za-z0-9][\w\-.]*"
_MODELS = re.compile(rf"^models:/(?:{_NAME}(?:/[^/\s]+|@[\w\-]+)|m-[0-9a-f]+)$")
_RUNS = re.compile(r"^runs:/[0-9A-Za-z_\-]+/\S+$")
_AZUREML = re.compile(rf"^azureml:(?P<name>{_NAME}?)(?::(?P<version>[^:@\s]+)|@(?P<label>[\w\-]+))?$")


class ModelReferenceError(PipelineDefinitionError):
    """A `model=` that names no model this driver can load."""


def model_uri(model: Any) -> str:
    """The MLflow URI of a model reference; ModelReferenceError says which forms are accepted."""
    if hasattr(model, "name") and hasattr(model, "version") and not isinstance(model, str):
        return f"models:/{model.name}/{model.version}"
    if not isinstance(model, str) or not model.strip():
        raise _bad(model)
    text = model.strip()
    if text.startswith("azureml:"):
        return _azureml(text)
    if _MODELS.match(text) or _RUNS.match(text):
        return text
    raise _bad(model)


def _azureml(text: str) -> str:
    """`azureml:name:3` -> `models:/name/3`; `azureml:name@label` -> alias; no version -> latest."""
    if text.startswith("azureml://"):
        raise ModelReferenceError(f"model {text!r}: registry and datastore URIs (azureml://...) are not "
                                  "models of this workspace; register the model and use azureml:<name>:<version>")
    match = _AZUREML.match(text)
    if match is None or not match["name"]:
        raise _bad(text)
    if match["label"]:
        return f"models:/{match['name']}@{match['label']}"
    return f"models:/{match['name']}/{match['version'] or 'latest'}"


def _bad(model: Any) -> ModelReferenceError:
    return ModelReferenceError(
        f"model {model!r} is not a model reference: use models:/<name>/<version or alias>, "
        "models:/<name>@<alias>, runs:/<run_id>/<path>, azureml:<name>:<version> or an aml_bridge Model")


__all__ = ["ModelReferenceError", "model_uri"]
