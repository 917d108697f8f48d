"""Compute targets: Azure's provisioning idiom keeps working, and nothing is provisioned.

Real code either tries `ComputeTarget(ws, name)` and creates the cluster on
`ComputeTargetException`, or checks `name in ws.compute_targets and type(ct) is AmlCompute`
(MIGRATION_SURFACE §3). Both paths must work, so every name resolves and the object's type is
`AmlCompute` unless the workspace config says otherwise. Where a job runs is decided by Airflow:
a target configured in the workspace config may carry an Airflow `pool` and `queue`.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from .settings import WorkspaceConfig

_created: dict[tuple[WorkspaceConfig, str], ComputeTarget] = {}
_lock = threading.Lock()


class ComputeTarget:
    """`ComputeTarget(ws, name)` finds any name; the object is an `AmlCompute` unless configured."""

    _type = "Compute"

    def __new__(cls, workspace: Any = None, name: str | None = None, *args: Any, **kwargs: Any) -> ComputeTarget:
        if workspace is not None and name:
            with _lock:
                known = _created.get((_config(workspace), name))
            if isinstance(known, cls):  # one object per name, so `create` settings stick
                return known
            if cls is ComputeTarget:
                cls = _class_for(_configured(workspace).get(name, {}).get("type", "AmlCompute"))
        return super().__new__(cls)

    def __init__(self, workspace: Any = None, name: str | None = None, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_initialised", False):
            return
        self.workspace = workspace
        self.name = name or ""
        settings = dict(_configured(workspace).get(self.name, {})) if workspace is not None else {}
        self.pool: str | None = settings.get("pool")
        self.queue: str | None = settings.get("queue")
        self.vm_size: str = settings.get("vm_size", "STANDARD_DS3_V2")
        self.min_nodes: int = int(settings.get("min_nodes", 0))
        self.max_nodes: int = int(settings.get("max_nodes", 4))
        self.location = getattr(workspace, "location", "local")
        self.provisioning_state = "Succeeded"
        self.created_on = datetime.now(timezone.utc).isoformat()
        self._initialised = True
        if workspace is not None and name:
            _remember(self)

    @property
    def type(self) -> str:
        return self._type

    @staticmethod
    def create(workspace: Any, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Nothing to provision: returns a target of the configuration's type, already Succeeded."""
        cls = getattr(provisioning_configuration, "_target_class", AmlCompute)
        target = cls(workspace, name)
        for key in ("vm_size", "min_nodes", "max_nodes"):
            value = getattr(provisioning_configuration, key, None)
            if value is not None:
                setattr(target, key, value)
        return target

    @staticmethod
    def list(workspace: Any) -> list[ComputeTarget]:
        return list(compute_targets(workspace).values())

    def wait_for_completion(self, show_output: bool = False, min_node_count: int | None = None,
                            timeout_in_minutes: int = 20, is_delete_operation: bool = False) -> None:
        if show_output:
            print(f'SucceededProvisioning operation finished, operation "{self.provisioning_state}"')

    def get_status(self) -> ComputeStatus:
        return ComputeStatus(self)

    @property
    def status(self) -> ComputeStatus:
        return self.get_status()

    def refresh_state(self) -> None:
        """Nothing changes behind our back."""

    def delete(self) -> None:
        with _lock:
            _created.pop((_config(self.workspace), self.name), None)

    detach = delete

    def serialize(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "location": self.location,
                "provisioningState": self.provisioning_state, "pool": self.pool, "queue": self.queue,
                "properties": {"vmSize": self.vm_size, "scaleSettings": self._scale_settings()}}

    def _scale_settings(self) -> dict[str, Any]:
        return {"minNodeCount": self.min_nodes, "maxNodeCount": self.max_nodes,
                "nodeIdleTimeBeforeScaleDown": "PT1800S"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name}, type={self.type})"


class AmlCompute(ComputeTarget):
    """A cluster. `provisioning_configuration` returns a record `ComputeTarget.create` accepts."""

    _type = "AmlCompute"

    @staticmethod
    def provisioning_configuration(vm_size: str = "", vm_priority: str = "dedicated", min_nodes: int = 0,
                                   max_nodes: int | None = None, idle_seconds_before_scaledown: int | None = None,
                                   **kwargs: Any) -> ProvisioningConfiguration:
        return ProvisioningConfiguration(AmlCompute, vm_size=vm_size or None, vm_priority=vm_priority,
                                         min_nodes=min_nodes, max_nodes=max_nodes,
                                         idle_seconds_before_scaledown=idle_seconds_before_scaledown, **kwargs)

    @staticmethod
    def supported_vmsizes(workspace: Any, location: str | None = None) -> list[dict[str, Any]]:
        return [{"name": "STANDARD_DS3_V2", "vCPUs": 4, "gpus": 0, "memoryGB": 14.0, "maxResourceVolumeMB": 28672},
                {"name": "STANDARD_NC6", "vCPUs": 6, "gpus": 1, "memoryGB": 56.0, "maxResourceVolumeMB": 344064}]

    def update(self, min_nodes: int | None = None, max_nodes: int | None = None,
               idle_seconds_before_scaledown: int | None = None) -> None:
        self.min_nodes = self.min_nodes if min_nodes is None else min_nodes
        self.max_nodes = self.max_nodes if max_nodes is None else max_nodes


class ComputeInstance(ComputeTarget):
    """A single VM; start/stop/restart have nothing to do."""

    _type = "ComputeInstance"

    @staticmethod
    def provisioning_configuration(vm_size: str = "", ssh_public_access: bool = False, admin_user_ssh_public_key:
                                   str | None = None, **kwargs: Any) -> ProvisioningConfiguration:
        return ProvisioningConfiguration(ComputeInstance, vm_size=vm_size or None, min_nodes=None, max_nodes=None,
                                         ssh_public_access=ssh_public_access, **kwargs)

    def start(self, wait_for_completion: bool = True, show_output: bool = False) -> None: ...

    def stop(self, wait_for_completion: bool = True, show_output: bool = False) -> None: ...

    def restart(self, wait_for_completion: bool = True, show_output: bool = False) -> None: ...


class ProvisioningConfiguration:
    """What `provisioning_configuration(...)` returns: the arguments, kept for `create`."""

    def __init__(self, target_class: type[ComputeTarget], **values: Any) -> None:
        self._target_class = target_class
        self.__dict__.update(values)

    def validate_configuration(self) -> None:
        """Every configuration is acceptable: nothing is provisioned."""


class ComputeStatus:
    """`get_status()`; `serialize()` is the dict notebooks print after provisioning."""

    def __init__(self, target: ComputeTarget) -> None:
        self.provisioning_state = target.provisioning_state
        self.current_node_count = 0
        self.target_node_count = 0
        self.allocation_state = "Steady"
        self.vm_size = target.vm_size
        self.scale_settings = target._scale_settings()
        self.creation_time = target.created_on

    def serialize(self) -> dict[str, Any]:
        return {"currentNodeCount": 0, "targetNodeCount": 0,
                "nodeStateCounts": {"idleNodeCount": 0, "leavingNodeCount": 0, "preemptedNodeCount": 0,
                                    "preparingNodeCount": 0, "runningNodeCount": 0, "unusableNodeCount": 0},
                "allocationState": self.allocation_state, "allocationStateTransitionTime": self.creation_time,
                "errors": None, "creationTime": self.creation_time, "modifiedTime": self.creation_time,
                "provisioningState": self.provisioning_state, "provisioningStateTransitionTime": None,
                "scaleSettings": self.scale_settings, "vmPriority": "Dedicated", "vmSize": self.vm_size}


def compute_targets(workspace: Any) -> dict[str, ComputeTarget]:
    """`ws.compute_targets`: targets in the workspace config plus those used in this process."""
    config = _config(workspace)
    found = {name: ComputeTarget(workspace, name) for name in _configured(workspace)}
    with _lock:
        found.update({name: t for (c, name), t in _created.items() if c == config and name not in found})
    return found


def _configured(workspace: Any) -> dict[str, dict[str, Any]]:
    targets = _config(workspace).extra.get("compute_targets") or {}
    return {str(name): dict(spec or {}) for name, spec in dict(targets).items()}


def _config(workspace: Any) -> WorkspaceConfig:
    return workspace if isinstance(workspace, WorkspaceConfig) else workspace.config


def _class_for(type_name: str) -> type[ComputeTarget]:
    return {"AmlCompute": AmlCompute, "ComputeInstance": ComputeInstance}.get(type_name, AmlCompute)


def _remember(target: ComputeTarget) -> None:
    with _lock:
        _created.setdefault((_config(target.workspace), target.name), target)


__all__ = ["AmlCompute", "ComputeInstance", "ComputeStatus", "ComputeTarget", "ProvisioningConfiguration",
           "compute_targets"]
