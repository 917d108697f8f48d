"""The files half of `Run`: uploads (refusing existing names), downloads, models, snapshots."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from typing import Any

from .errors import AzureMLAggregatedException, SnapshotException, UserErrorException
from .plugins import hooks
from .records import SYSTEM_ARTIFACT_PREFIX

SNAPSHOT_PREFIX = SYSTEM_ARTIFACT_PREFIX + "snapshots/"
SNAPSHOT_PROPERTY = "ContentSnapshotId"


class ArtifactsMixin:
    """Needs `_ws`, `_backend_id`, `id`, `get_properties`, `add_properties`."""

    def upload_file(self, name: str, path_or_stream: Any, datastore_name: str | None = None) -> None:
        """Store a file (or a stream) as artifact `name`; an existing name is an error."""
        if isinstance(path_or_stream, (str, os.PathLike)):
            self._upload_new(name, os.fspath(path_or_stream))
            return
        data = path_or_stream.read() if hasattr(path_or_stream, "read") else path_or_stream
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, "stream")
            with open(local, "wb") as fh:
                fh.write(data.encode() if isinstance(data, str) else bytes(data))
            self._upload_new(name, local)

    def upload_files(self, names: list[str], paths: list[str], return_artifacts: bool = False,
                     timeout_seconds: int | None = None, datastore_name: str | None = None) -> None:
        if len(names) != len(paths):
            raise TypeError(f"names and paths must have the same length ({len(names)} != {len(paths)})")
        self._refuse_existing(names)
        for name, path in zip(names, paths):
            self._store(name, path)

    def upload_folder(self, name: str, path: str, datastore_name: str | None = None) -> None:
        """Every file under `path` becomes `name + filepath[len(path):]` (Azure's exact rule)."""
        if not os.path.isdir(path):
            raise UserErrorException(f"Cannot upload folder {path}: it is not a directory.")
        files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
        names = [(name + f[len(path):]).replace(os.sep, "/") for f in files]
        self._refuse_existing(names)
        if not path.endswith(("/", os.sep)):
            self._store(name, path)  # one folder upload, same names
            return
        for artifact, local in zip(names, files):
            self._store(artifact, local)

    def get_file_names(self) -> list[str]:
        """Every artifact path of the run (aml-bridge's own bookkeeping files excluded)."""
        names = hooks.aml_list_artifacts(workspace=self._ws, run_id=self._backend_id, prefix="") or []
        return [n for n in names if not n.startswith(SYSTEM_ARTIFACT_PREFIX)]

    def download_file(self, name: str, output_file_path: str | None = None, _validate_checksum: bool = False) -> None:
        """Download artifact `name` to `output_file_path` (default: its basename in the cwd)."""
        target = output_file_path or os.path.basename(name)
        if os.path.isdir(target):
            target = os.path.join(target, os.path.basename(name))
        self._fetch(name, target)

    def download_files(self, prefix: str | None = None, output_directory: str | None = None,
                       output_paths: list[str] | None = None, batch_size: int = 100, append_prefix: bool = True,
                       timeout_seconds: int | None = None) -> None:
        """Download every artifact under `prefix` into `output_directory` (default cwd)."""
        prefix = (prefix or "").strip("/")
        names = [n for n in self.get_file_names() if not prefix or n == prefix or n.startswith(prefix + "/")]
        if not names:
            raise UserErrorException(f"No artifacts found under prefix {prefix!r} in run {self.id}.")
        for i, name in enumerate(names):
            relative = name if append_prefix else name[len(prefix):].lstrip("/") or os.path.basename(name)
            target = output_paths[i] if output_paths else os.path.join(output_directory or ".", relative)
            self._fetch(name, target)

    def register_model(self, model_name: str, model_path: str | None = None, tags: dict | None = None,
                       properties: dict | None = None, model_framework: str | None = None,
                       model_framework_version: str | None = None, description: str | None = None,
                       datasets: list | None = None, sample_input_dataset: Any = None,
                       sample_output_dataset: Any = None, resource_configuration: Any = None,
                       **kwargs: Any) -> Any:
        """Register run artifacts (a file or folder) as a new version in the MLflow Model Registry."""
        from .model import Model

        return Model._register_from_run(self, model_name, model_path, tags=tags, properties=properties,
                                        model_framework=model_framework,
                                        model_framework_version=model_framework_version,
                                        description=description, datasets=datasets)

    def take_snapshot(self, file_or_folder_path: str) -> str:
        """Zip a folder (honouring .amlignore/.gitignore) as the run's one snapshot."""
        if self.get_properties().get(SNAPSHOT_PROPERTY):
            raise SnapshotException(f"Run {self.id} already has a snapshot.")
        from .snapshot import make_zip

        snapshot_id = str(uuid.uuid4())
        with tempfile.TemporaryDirectory() as tmp:
            archive = make_zip(file_or_folder_path, os.path.join(tmp, f"{snapshot_id}.zip"), exclude=[self._ws.home])
            self._store(f"{SNAPSHOT_PREFIX}{snapshot_id}.zip", archive)
        self.add_properties({SNAPSHOT_PROPERTY: snapshot_id})
        return snapshot_id

    def get_snapshot_id(self) -> str | None:
        return self.get_properties().get(SNAPSHOT_PROPERTY)

    def restore_snapshot(self, snapshot_id: str | None = None, path: str | None = None) -> str:
        """Download a snapshot zip (this run's by default) and return its local path."""
        snapshot_id = snapshot_id or self.get_snapshot_id()
        if not snapshot_id:
            raise SnapshotException(f"Run {self.id} has no snapshot.")
        owner = self._snapshot_owner(snapshot_id)
        target = os.path.join(path or ".", f"{snapshot_id}.zip")
        owner._fetch(f"{SNAPSHOT_PREFIX}{snapshot_id}.zip", target)
        return os.path.abspath(target)

    def _snapshot_owner(self, snapshot_id: str) -> Any:
        if self.get_snapshot_id() == snapshot_id:
            return self
        for run in type(self).list(self.experiment, properties={SNAPSHOT_PROPERTY: snapshot_id},
                                   include_children=True):
            return run
        raise SnapshotException(f"Snapshot {snapshot_id} was not found.")

    # --- helpers -------------------------------------------------------------------------

    def _artifact_exists(self, name: str) -> bool:
        found = hooks.aml_list_artifacts(workspace=self._ws, run_id=self._backend_id, prefix=name) or []
        return name in found

    def _refuse_existing(self, names: list[str]) -> None:
        existing = set(hooks.aml_list_artifacts(workspace=self._ws, run_id=self._backend_id, prefix="") or [])
        clashes = [n for n in names if n in existing]
        if clashes:
            raise _conflict(self.id, clashes[0])

    def _upload_new(self, name: str, local_path: str) -> None:
        if self._artifact_exists(name):
            raise _conflict(self.id, name)
        self._store(name, local_path)

    def _store(self, name: str, local_path: str) -> None:
        hooks.aml_log_artifact(workspace=self._ws, run_id=self._backend_id, local_path=local_path,
                               artifact_path=name)

    def _fetch(self, name: str, target: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                local = hooks.aml_download_artifact(workspace=self._ws, run_id=self._backend_id,
                                                    artifact_path=name, dst_dir=tmp)
            except Exception as exc:
                raise UserErrorException(f"Artifact {name!r} of run {self.id} could not be downloaded: {exc}") from exc
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            shutil.move(local, target)

    def _upload_outputs(self) -> None:
        """Upload the tracked outputs folder as `<folder>/<relpath>`, skipping names already there."""
        folder, prefix = getattr(self, "_outputs", (None, None))
        if not folder or not os.path.isdir(folder):
            return
        existing = set(hooks.aml_list_artifacts(workspace=self._ws, run_id=self._backend_id, prefix=prefix) or [])
        for directory, _, files in os.walk(folder):
            for file in files:
                if file.endswith("azureml.log"):
                    continue
                local = os.path.join(directory, file)
                name = f"{prefix}/{os.path.relpath(local, folder)}".replace(os.sep, "/")
                if name not in existing:
                    self._store(name, local)


def _conflict(run_id: str, name: str) -> AzureMLAggregatedException:
    return AzureMLAggregatedException(
        f"UserError: Resource Conflict: ArtifactId ExperimentRun/dcid.{run_id}/{name} already exists.",
        error_code="Conflict")


__all__ = ["ArtifactsMixin", "SNAPSHOT_PROPERTY"]
