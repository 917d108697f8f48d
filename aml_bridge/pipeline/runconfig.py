"""What a step takes from `compute_target`, `runconfig` and `runconfig_pipeline_params`.

The runconfig object comes from user code (the lead's `RunConfiguration` or Azure-shaped
look-alikes), so it is read by duck typing and summarised into stable JSON: that summary is part
of the reuse fingerprint, so it must not contain memory addresses.
"""

from __future__ import annotations

from typing import Any

from .errors import PipelineDefinitionError
from .parameter import PipelineParameter

PARAMETERIZABLE = ("NodeCount", "MpiProcessCountPerNode", "TensorflowWorkerCount", "TensorflowParameterServerCount")
_KNOWN_PROPERTIES = {"Script", "Arguments", "Target", "Framework", "Communicator", "MaxRunDurationSeconds",
                     "Environment", "History", "Spark", "Hdi", "Docker", "DataReferences", "Data", "OutputData",
                     "SourceDirectoryDataStore", "AmlCompute", "Tensorflow", "Mpi", "PyTorch", "ParallelTask",
                     "Command", "Credential_passthrough", "KubernetesCompute", "InstanceTypes"}
_MAX_DEPTH = 6


def compute_target_name(step: str, compute_target: Any, runconfig: Any) -> str | None:
    """A compute object, its name, or a `(name, type)` tuple -> the name (None: runconfig.target)."""
    if compute_target is None:
        target = getattr(runconfig, "target", None) if runconfig is not None else None
        return compute_target_name(step, target, None) if target is not None else None
    if isinstance(compute_target, str):
        return compute_target
    if isinstance(compute_target, tuple):
        if len(compute_target) != 2 or not all(isinstance(v, str) for v in compute_target):
            raise ValueError(f"Step [{step}]: compute_target tuple must be (name, type) strings")
        if compute_target[1].lower() == "batchai":
            raise ValueError(f"Step [{step}]: compute target type 'batchai' is not supported")
        return compute_target[0]
    name = getattr(compute_target, "name", None)
    if not isinstance(name, str):
        raise ValueError(f"Step [{step}]: compute_target must be a compute object, a name or (name, type)")
    return name


def check_runconfig_params(step: str, values: dict[str, Any] | None,
                           params: dict[str, Any]) -> dict[str, PipelineParameter]:
    """Azure's rules: only four properties, PipelineParameter values, no clash with `params`."""
    checked: dict[str, PipelineParameter] = {}
    for key, value in (values or {}).items():
        if key not in PARAMETERIZABLE:
            reason = "is not parameterizable" if key in _KNOWN_PROPERTIES else "is not valid"
            raise PipelineDefinitionError(f"Step [{step}]: Runconfig property name {key} {reason}; "
                                          f"parameterizable: {list(PARAMETERIZABLE)}")
        if not isinstance(value, PipelineParameter):
            raise PipelineDefinitionError(f"Step [{step}]: runconfig_pipeline_params[{key!r}] must be a "
                                          f"PipelineParameter, got {type(value).__name__}")
        if key in params:
            raise PipelineDefinitionError(f"Step [{step}]: Duplicate parameter name {key} in params and "
                                          "runconfig_pipeline_params")
        checked[key] = value
    return checked


def runconfig_env(runconfig: Any) -> dict[str, str]:
    """Environment variables the runconfig (or its environment) declares."""
    if runconfig is None:
        return {}
    found: dict[str, str] = {}
    environment = getattr(runconfig, "environment", None)
    for source in (getattr(environment, "environment_variables", None),
                   getattr(runconfig, "environment_variables", None)):
        if isinstance(source, dict):
            found.update({str(k): str(v) for k, v in source.items()})
    return found


def runconfig_summary(runconfig: Any) -> Any:
    """Stable JSON of a runconfig object (public attributes, recursively)."""
    return None if runconfig is None else _plain(runconfig, 0)


def _plain(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth >= _MAX_DEPTH:
        return type(value).__name__
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v, depth + 1) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return _plain(to_dict(), depth + 1)
        except Exception:  # a to_dict that needs arguments or a service: fall back to attributes
            pass
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):
        public = {k.lstrip("_"): v for k, v in attrs.items() if not callable(v)}
        return {"__type__": type(value).__name__, **_plain(public, depth + 1)}
    return type(value).__name__


__all__ = ["PARAMETERIZABLE", "check_runconfig_params", "compute_target_name", "runconfig_env",
           "runconfig_summary"]
