"""`Workspace`: Azure's handle on a workspace, backed by an MLflow store and local/S3 data.

Azure ids (subscription, resource group, name) are accepted and kept for display; what a
workspace really is here is a resolved `WorkspaceConfig` (tracking URI, artifact root, home).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import settings
from .errors import UserErrorException
from .plugins import hooks
from .settings import WorkspaceConfig

if TYPE_CHECKING:
    from .experiment import Experiment

log = logging.getLogger(__name__)


class Workspace:
    """A workspace; `Workspace(sub, rg, name)` accepts any ids and uses the resolved store."""

    def __init__(self, subscription_id: str | None = None, resource_group: str | None = None,
                 workspace_name: str | None = None, auth: Any = None, _location: str | None = None,
                 *, config: WorkspaceConfig | None = None, **kwargs: Any) -> None:
        if config is None:
            path = settings.find_config_file()
            values = settings.read_config_file(path) if path else None
            config = settings.resolve(values, path, subscription_id=subscription_id,
                                      resource_group=resource_group, name=workspace_name,
                                      location=_location, **_store_kwargs(kwargs))
        self.config = config
        self._auth = auth

    # --- constructors Azure code calls -------------------------------------------------

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None, auth: Any = None,
                    _logger: Any = None, _file_name: str | None = None, **kwargs: Any) -> Workspace:
        """Read `aml-bridge.json` or Azure's `config.json` / `.azureml/config.json` upward from `path`.

        With no file anywhere, the embedded default (`./.aml-bridge`) is used, so a
        migrated notebook runs before anyone writes a config file.
        """
        start = Path(path) / _file_name if path and _file_name else path
        found = settings.find_config_file(start)
        if path and found is None:
            raise UserErrorException(f"We could not find config.json in: {path} or in its parent directories.")
        if found is None:
            log.info("aml-bridge: no workspace config found; using the embedded store under ./.aml-bridge")
        values = settings.read_config_file(found) if found else None
        return cls(config=settings.resolve(values, found, **_store_kwargs(kwargs)), auth=auth)

    @classmethod
    def get(cls, name: str, auth: Any = None, subscription_id: str | None = None,
            resource_group: str | None = None, location: str | None = None, **kwargs: Any) -> Workspace:
        """Azure's lookup by name: the configured store, carrying the given ids."""
        return cls(subscription_id, resource_group, name, auth, location, **kwargs)

    @classmethod
    def create(cls, name: str, auth: Any = None, subscription_id: str | None = None,
               resource_group: str | None = None, location: str | None = None, **kwargs: Any) -> Workspace:
        """Nothing to provision: the store is created on first use."""
        return cls.get(name, auth, subscription_id, resource_group, location)

    @classmethod
    def from_environment(cls) -> Workspace:
        """The workspace of a process aml-bridge launched (its variables win)."""
        return cls(config=settings.from_environment())

    # --- identity ------------------------------------------------------------------------

    name = property(lambda self: self.config.name)
    subscription_id = property(lambda self: self.config.subscription_id)
    resource_group = property(lambda self: self.config.resource_group)
    location = property(lambda self: self.config.location)

    def get_mlflow_tracking_uri(self) -> str:
        return self.config.tracking_uri

    def get_details(self) -> dict[str, Any]:
        return {"name": self.name, "location": self.location, "id": self._arm_id(),
                "mlflowTrackingUri": self.config.tracking_uri, "artifactRoot": self.config.artifact_root}

    def write_config(self, path: str | None = None, file_name: str | None = None) -> str:
        """Write Azure's `.azureml/config.json` (plus our store keys) so `from_config` finds it."""
        folder = Path(path or ".") / ".azureml"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (file_name or "config.json")
        target.write_text(json.dumps({
            "subscription_id": self.subscription_id, "resource_group": self.resource_group,
            "workspace_name": self.name, "tracking_uri": self.config.tracking_uri,
            "artifact_root": self.config.artifact_root, "home": self.config.home}, indent=2))
        return str(target)

    def _arm_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}")

    # --- collections ---------------------------------------------------------------------

    @property
    def experiments(self) -> dict[str, Experiment]:
        from .experiment import Experiment

        names = hooks.aml_list_experiments(workspace=self.config) or []
        return {name: Experiment(self, name) for name in names}

    @property
    def compute_targets(self) -> dict[str, Any]:
        from .compute import compute_targets

        return compute_targets(self)

    def get_default_datastore(self) -> Any:
        from .data import default_datastore

        return default_datastore(self)

    @property
    def datastores(self) -> dict[str, Any]:
        from .data import registered_datastores

        return registered_datastores(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.config == self.config

    def __hash__(self) -> int:
        return hash(self.config)

    def __repr__(self) -> str:
        return (f"Workspace.create(name='{self.name}', subscription_id='{self.subscription_id}', "
                f"resource_group='{self.resource_group}')")


def _store_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs[k] for k in ("home", "tracking_uri", "artifact_root") if kwargs.get(k)}


__all__ = ["Workspace"]
