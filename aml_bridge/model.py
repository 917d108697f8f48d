"""`Model`: Azure's model registry API on the MLflow Model Registry.

Azure properties are add-only and MLflow model versions only have tags, so properties are kept
as tags under `aml_bridge.property.`; the framework and lineage live under `aml_bridge.` too.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from typing import Any

from .errors import ModelPathNotFoundException, UserErrorException, WebserviceException
from .plugins import hooks
from .records import ModelRecord

_PROPERTY = "aml_bridge.property."
_NAME = re.compile(r"^[a-zA-Z0-9][\w\-.]{0,254}$")


class Model:
    """One registered model version. `Model(ws, name)` is the latest version."""

    class Framework:
        CUSTOM = "Custom"
        MULTI = "Multi"
        ONNX = "Onnx"
        PYTORCH = "PyTorch"
        SCIKITLEARN = "ScikitLearn"
        TENSORFLOW = "TensorFlow"

    def __init__(self, workspace: Any, name: str | None = None, id: str | None = None, tags: Any = None,
                 properties: Any = None, version: int | None = None, run_id: str | None = None,
                 model_framework: str | None = None, expand: bool = True, _record: ModelRecord | None = None,
                 **kwargs: Any) -> None:
        self.workspace = workspace
        if _record is None:
            if id is not None:
                name, _, number = id.partition(":")
                version = int(number) if number else version
            if name is None:
                raise UserErrorException("Model needs a name or an id ('name:version').")
            found = Model.list(workspace, name=name, tags=tags, properties=properties, run_id=run_id,
                               version=version)
            if not found:
                raise WebserviceException(f"ModelNotFound: Model with name {name}"
                                          f"{'' if version is None else f' and version {version}'} not found "
                                          "in provided workspace")
            _record = found[0]._record
        self._record = _record

    # --- attributes Azure code reads ------------------------------------------------------

    name = property(lambda self: self._record.name)
    version = property(lambda self: self._record.version)
    run_id = property(lambda self: self._record.run_id)
    description = property(lambda self: self._record.description)
    created_time = property(lambda self: self._record.created_time)
    url = property(lambda self: self._record.source)

    @property
    def id(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def tags(self) -> dict[str, str]:
        return {k: v for k, v in self._record.tags.items() if not k.startswith(("aml_bridge.", "mlflow."))}

    @property
    def properties(self) -> dict[str, str]:
        return {k[len(_PROPERTY):]: v for k, v in self._record.tags.items() if k.startswith(_PROPERTY)}

    @property
    def model_framework(self) -> str:
        return self._record.tags.get("aml_bridge.framework", Model.Framework.CUSTOM)

    @property
    def datasets(self) -> dict[str, Any]:
        return json.loads(self._record.tags.get("aml_bridge.datasets", "{}"))

    # --- registration ---------------------------------------------------------------------

    @staticmethod
    def register(workspace: Any, model_path: str, model_name: str, tags: dict | None = None,
                 properties: dict | None = None, description: str | None = None, datasets: list | None = None,
                 model_framework: str | None = None, model_framework_version: str | None = None,
                 **kwargs: Any) -> Model:
        """Register a local file or folder as a new version of `model_name`."""
        if not os.path.exists(model_path):
            raise UserErrorException(f"Model path {model_path!r} does not exist.")
        record = hooks.aml_register_model(
            workspace=workspace.config, name=_check_name(model_name), run_id=None, artifact_path=None,
            local_path=os.path.abspath(model_path), description=description,
            tags=_model_tags(tags, properties, model_framework, model_framework_version, datasets))
        return Model(workspace, _record=record)

    @staticmethod
    def _register_from_run(run: Any, model_name: str, model_path: str | None, **kwargs: Any) -> Model:
        """`run.register_model`: the path must name run artifacts (a file or a folder prefix)."""
        path = posixpath.normpath((model_path or model_name).replace("\\", "/")).strip("/")
        run.flush()
        names = run.get_file_names()
        if not any(n == path or n.startswith(path + "/") for n in names):
            raise ModelPathNotFoundException(
                f"Could not locate the provided model_path {path} in the set of files uploaded to the run: "
                f"{names}\nSee https://aka.ms/run-logging for more details.")
        record = hooks.aml_register_model(
            workspace=run._ws, name=_check_name(model_name), run_id=run._backend_id, artifact_path=path,
            local_path=None, description=kwargs.get("description"),
            tags=_model_tags(kwargs.get("tags"), kwargs.get("properties"), kwargs.get("model_framework"),
                             kwargs.get("model_framework_version"), kwargs.get("datasets")))
        return Model(run.experiment.workspace, _record=record)

    # --- queries --------------------------------------------------------------------------

    @staticmethod
    def list(workspace: Any, name: str | None = None, tags: Any = None, properties: Any = None,
             run_id: str | None = None, latest: bool = False, version: int | None = None,
             **kwargs: Any) -> list[Model]:
        """Versions newest first; `tags`/`properties` take `[[key, value]]` or `[key]` filters."""
        records = hooks.aml_search_models(workspace=workspace.config, name=name, version=version,
                                          run_id=_backend_run_id(workspace, run_id)) or []
        models = [Model(workspace, _record=r) for r in records]
        models = [m for m in models if _filter(m.tags, tags) and _filter(m.properties, properties)]
        if latest:
            newest: dict[str, Model] = {}
            for model in models:
                if model.name not in newest or model.version > newest[model.name].version:
                    newest[model.name] = model
            models = list(newest.values())
        return models

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace: Any = None) -> str:
        """Local path of a registered model: the file when one file was registered, else the folder.

        Files are downloaded once into `./azureml-models/<name>/<version>/`, as Azure lays them out.
        """
        from .workspace import Workspace

        workspace = _workspace or Workspace.from_environment()
        model = Model(workspace, name=model_name, version=version)
        return model.download(os.path.join("azureml-models", model.name, str(model.version)), exist_ok=True)

    def download(self, target_dir: str = ".", exist_ok: bool = False, exists_ok: bool | None = None) -> str:
        """Download the version's files into `target_dir` and return the model's local path."""
        marker = os.path.join(target_dir, ".aml_bridge_model")
        if os.path.exists(marker) and (exist_ok or exists_ok):
            with open(marker) as fh:
                return fh.read()
        os.makedirs(target_dir, exist_ok=True)
        path = hooks.aml_download_model(workspace=self.workspace.config, name=self.name, version=self.version,
                                        dst_dir=os.path.abspath(target_dir))
        with open(marker, "w") as fh:
            fh.write(path)
        return path

    def add_tags(self, tags: dict[str, Any]) -> None:
        self._set({str(k): str(v) for k, v in tags.items()})

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add-only, as on runs: changing an existing property is an error."""
        current = self.properties
        for key, value in properties.items():
            if key in current and current[key] != str(value):
                raise UserErrorException(f"Property {key!r} of model {self.id} is already {current[key]!r}.")
        self._set({_PROPERTY + str(k): str(v) for k, v in properties.items()})

    def _set(self, tags: dict[str, str]) -> None:
        hooks.aml_set_model_tags(workspace=self.workspace.config, name=self.name, version=self.version, tags=tags)
        self._record.tags.update(tags)

    def serialize(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version, "tags": self.tags,
                "properties": self.properties, "runId": self.run_id, "description": self.description,
                "url": self.url, "framework": self.model_framework}

    def __repr__(self) -> str:
        return f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, version={self.version})"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserErrorException(f"Model name {name!r} is invalid: use letters, digits, '-', '_' and '.', "
                                 "starting with a letter or digit (at most 255 characters).")
    return name


def _model_tags(tags: dict | None, properties: dict | None, framework: str | None, framework_version: str | None,
                datasets: list | None) -> dict[str, str]:
    result = {str(k): str(v) for k, v in (tags or {}).items()}
    result.update({_PROPERTY + str(k): str(v) for k, v in (properties or {}).items()})
    if framework:
        result["aml_bridge.framework"] = framework
    if framework_version:
        result["aml_bridge.framework_version"] = framework_version
    if datasets:
        result["aml_bridge.datasets"] = json.dumps({n: getattr(d, "id", str(d)) for n, d in datasets})
    return result


def _filter(values: dict[str, str], wanted: Any) -> bool:
    for item in wanted or []:
        key, *value = [item] if isinstance(item, str) else list(item)
        if key not in values or (value and values[key] != str(value[0])):
            return False
    return True


def _backend_run_id(workspace: Any, run_id: str | None) -> str | None:
    if run_id is None:
        return None
    from .run_lookup import find_record

    return find_record(workspace.config, run_id).run_id


__all__ = ["Model"]
