"""Reuse fingerprints (AML_API §3.7) and reuse keys — pure functions over a StepPlan.

fingerprint = sha256(module-def signature) + "_" + content hash of the source tree.
reuse key   = sha256 over the fingerprint, the identity of every input's content (upstream reuse
key + output name, or a digest of external data) and the parameter values the step uses.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from .naming import dataref_env_var, param_env_var
from .plan import ArgumentPlan, InputPlan, OutputPlan, StepPlan
from .snapshot import content_hash

_CHUNK = 1 << 20


def _render_arg(step: StepPlan, arg: ArgumentPlan) -> str:
    """The structured form Azure hashes: `$AML_PARAMETER_x`, `$AZUREML_DATAREFERENCE_x`, `DatasetOutputConfig:x`."""
    if arg.kind == "literal":
        return arg.value
    if arg.kind == "parameter":
        return "$" + param_env_var(arg.value)
    ports: list[InputPlan | OutputPlan] = [*step.inputs, *step.outputs]
    port = next((p for p in ports if p.name == arg.value), None)
    if port is not None and port.kind == "dataset":
        prefix = "DatasetOutputConfig" if isinstance(port, OutputPlan) else "DatasetConsumptionConfig"
        return f"{prefix}:{arg.value}"
    return "$" + dataref_env_var(arg.value)


def module_signature(step: StepPlan, parameters: Mapping[str, Any]) -> str:
    """Sorted `name_`, `input_`, `output_`, `param_`, `deterministic_`, `execution_`, `version_`,
    `arguments_`, `runconfig_` elements joined with `_`."""
    parts = [f"name_{step.name}", f"deterministic_{step.allow_reuse}", f"execution_{step.kind}"]
    for inp in step.inputs:
        fields = [f"input_{inp.name}", f"ds_mode_{inp.mode}"]
        fields += [f"ds_path_{inp.path_on_compute}"] if inp.path_on_compute else []
        fields += [f"datatypes_{inp.dataset_type}"] if inp.dataset_type else []
        parts.append(",".join(fields))
    for out in step.outputs:
        fields = [f"output_{out.name}", f"ds_name_{out.datastore}", f"ds_mode_{out.mode}",
                  f"ds_path_{out.path_template}"]
        fields += [f"datatype_{json.dumps(out.dataset, sort_keys=True)}"] if out.dataset else []
        parts.append(",".join(fields))
    for name, param in step.params.items():
        default = param.value if param.kind == "literal" else parameters.get(param.value)
        parts.append(f"param_{name},val_{default}")
    if step.version is not None:
        parts.append(f"version_{step.version}")
    parts.append("arguments_" + ",".join(_render_arg(step, a) for a in step.arguments))
    runconfig = {"script": step.script, "target": step.compute_target, "env": step.environment_variables,
                 "runconfig": step.runconfig, "parameters": step.runconfig_parameters, "extra": step.extra}
    parts.append("runconfig_" + json.dumps(runconfig, sort_keys=True, default=str))
    return "_".join(sorted(parts))


def module_hash(step: StepPlan, parameters: Mapping[str, Any]) -> str:
    return hashlib.sha256(module_signature(step, parameters).encode("utf-8")).hexdigest()


def step_fingerprint(step: StepPlan, parameters: Mapping[str, Any] | None = None) -> str:
    """Module hash + source-tree content hash (reads the source directory)."""
    signature = step.module_hash or module_hash(step, parameters or {})
    return f"{signature}_{content_hash(step.source_directory)}"


def path_digest(path: str | os.PathLike[str]) -> str:
    """Content identity of a local file or folder (relative paths + bytes), for external inputs."""
    digest = hashlib.sha256()
    root = os.fspath(path)
    files = [root] if os.path.isfile(root) else sorted(
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
    for file in files:
        digest.update(os.path.relpath(file, root).replace(os.sep, "/").encode())
        with open(file, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def upstream_identity(producer_reuse_key: str, output_name: str) -> str:
    """Identity of an input fed by an upstream step's output."""
    return f"{producer_reuse_key}:{output_name}"


def reuse_key(fingerprint: str, inputs: Mapping[str, str], parameters: Mapping[str, Any]) -> str:
    """The key a previous successful run must match for this step to be reused."""
    payload = {"fingerprint": fingerprint, "inputs": dict(sorted(inputs.items())),
               "parameters": {k: json.dumps(v, sort_keys=True, default=str) for k, v in sorted(parameters.items())}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


__all__ = ["module_hash", "module_signature", "path_digest", "reuse_key", "step_fingerprint", "upstream_identity"]
