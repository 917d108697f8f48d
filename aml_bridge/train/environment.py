"""`Environment`: a faithful record of Azure's environment definition (AML_API §2.4).

It holds what scripts configure, with Azure's defaults, and a per-workspace registry
(`<home>/environments.json`) backs `get`/`register`/`list`. Nothing is built here: the launcher
turns a definition that asks for packages into a cached venv (aml_bridge/train/environments.py).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
from typing import Any

from ..errors import UserErrorException
from .conda_dependencies import CondaDependencies, conda_env_export

log = logging.getLogger(__name__)

# Azure pins a dated tag; the image is never pulled here, so the floating tag is recorded.
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04:latest"
REGISTRY_FILE = "environments.json"
CURATED_PREFIX = "AzureML-"


class Environment:
    """`Environment(name)` with Azure's defaults; `environment_variables` starts with Azure's example."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        if not isinstance(name, str) or not name:
            raise UserErrorException("Environment name must be a non-empty string.")
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.inferencing_stack_version: str | None = None
        self._environment_variables: dict[str, str] = {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}

    @property
    def environment_variables(self) -> dict[str, str]:
        return self._environment_variables

    @environment_variables.setter
    def environment_variables(self, value: dict[str, str]) -> None:
        log.warning("Environment.environment_variables is deprecated; use "
                    "RunConfiguration.environment_variables to set runtime variables.")
        self._environment_variables = dict(value or {})

    # --- constructors -----------------------------------------------------------------------

    @staticmethod
    def from_pip_requirements(name: str, file_path: str, pip_version: str | None = None) -> Environment:
        env = Environment(name)
        env.python.conda_dependencies = _pip_spec(file_path, pip_version)
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> Environment:
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(conda_dependencies_file_path=file_path)
        return env

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> Environment:
        env = Environment(name)
        env.python.conda_dependencies = conda_env_export(conda_environment_name)
        return env

    @staticmethod
    def from_docker_image(name: str, image: str, container_registry: Any = None, conda_specification: str | None = None,
                          pip_requirements: str | None = None) -> Environment:
        """An image; with neither spec the image's own Python is used (user-managed)."""
        env = Environment(name)
        env.docker.base_image = image
        if container_registry is not None:
            env.docker.base_image_registry = container_registry
        _apply_specs(env, conda_specification, pip_requirements)
        return env

    @staticmethod
    def from_dockerfile(name: str, dockerfile: str, conda_specification: str | None = None,
                        pip_requirements: str | None = None) -> Environment:
        env = Environment(name)
        if os.path.isfile(dockerfile):
            with open(dockerfile) as fh:
                dockerfile = fh.read()
        env.docker.base_image = None
        env.docker.base_dockerfile = dockerfile
        _apply_specs(env, conda_specification, pip_requirements)
        return env

    # --- the workspace registry -------------------------------------------------------------

    @staticmethod
    def get(workspace: Any, name: str, version: str | None = None, label: str | None = None) -> Environment:
        """A registered definition (latest version by default); `AzureML-*` curated names resolve to
        the launching interpreter, since there is no curated image to use."""
        versions = _read_registry(workspace).get(name, {})
        if version is None and versions:
            version = max(versions, key=int)
        if version is not None and str(version) in versions:
            return Environment._from_dict(versions[str(version)])
        if name.startswith(CURATED_PREFIX) and version is None:
            return _curated(name)
        raise UserErrorException(
            f"Environment {name!r}{'' if version is None else f' version {version}'} was not found in workspace "
            f"{workspace.name}. Registered environments: {sorted(_read_registry(workspace))}")

    @staticmethod
    def list(workspace: Any) -> dict[str, Environment]:
        """The latest version of every registered environment, by name."""
        return {name: Environment.get(workspace, name) for name in sorted(_read_registry(workspace))}

    def register(self, workspace: Any) -> Environment:
        """Store this definition; an unchanged definition keeps its version, a change adds one."""
        registry = _read_registry(workspace)
        versions = registry.setdefault(self.name, {})
        mine = {**self._to_dict(), "version": None}
        same = [v for v, d in versions.items() if {**Environment._from_dict(d)._to_dict(), "version": None} == mine]
        version = same[0] if same else str(max((int(v) for v in versions), default=0) + 1)
        versions[version] = {**mine, "version": version}
        _write_registry(workspace, registry)
        return Environment._from_dict(versions[version])

    # --- copies and files -------------------------------------------------------------------

    def clone(self, new_name: str) -> Environment:
        env = copy.deepcopy(self)
        env.name, env.version = new_name, None
        return env

    def save_to_directory(self, path: str, overwrite: bool = False) -> None:
        target = os.path.join(path, "azureml_environment.json")
        if os.path.exists(target) and not overwrite:
            raise UserErrorException(f"{target} exists; pass overwrite=True to replace it.")
        os.makedirs(path, exist_ok=True)
        with open(target, "w") as fh:
            json.dump(self._to_dict(), fh, indent=4)

    @staticmethod
    def load_from_directory(path: str) -> Environment:
        with open(os.path.join(path, "azureml_environment.json")) as fh:
            return Environment._from_dict(json.load(fh))

    def _to_dict(self) -> dict[str, Any]:
        """Azure's JSON shape (camelCase); registry passwords are never written."""
        p, d = self.python, self.docker
        return {
            "name": self.name, "version": self.version,
            "python": {"userManagedDependencies": p.user_managed_dependencies, "interpreterPath": p.interpreter_path,
                       "condaDependenciesFile": p.conda_dependencies_file,
                       "baseCondaEnvironment": p.base_conda_environment,
                       "condaDependencies": p.conda_dependencies._conda_dependencies if p.conda_dependencies else None},
            "environmentVariables": dict(self._environment_variables),
            "docker": {"enabled": d.enabled, "baseImage": d.base_image, "baseDockerfile": d.base_dockerfile,
                       "shmSize": d.shm_size, "arguments": list(d.arguments), "gpuSupport": d.gpu_support,
                       "baseImageRegistry": {"address": getattr(d.base_image_registry, "address", None),
                                             "username": getattr(d.base_image_registry, "username", None)}},
            "inferencingStackVersion": self.inferencing_stack_version,
        }

    @staticmethod
    def _from_dict(data: dict[str, Any]) -> Environment:
        env = Environment(data["name"])
        env.version = data.get("version")
        py, dock = data.get("python", {}), data.get("docker", {})
        env.python.user_managed_dependencies = py.get("userManagedDependencies", False)
        env.python.interpreter_path = py.get("interpreterPath", "python")
        env.python.conda_dependencies_file = py.get("condaDependenciesFile")
        env.python.base_conda_environment = py.get("baseCondaEnvironment")
        spec = py.get("condaDependencies")
        env.python.conda_dependencies = None if spec is None else CondaDependencies(_underlying_structure=spec)
        env._environment_variables = dict(data.get("environmentVariables") or {})
        env.docker.enabled = dock.get("enabled", False)
        env.docker.base_image = dock.get("baseImage")
        env.docker.base_dockerfile = dock.get("baseDockerfile")
        env.docker.shm_size = dock.get("shmSize", "2g")
        env.docker.arguments = list(dock.get("arguments") or [])
        env.docker.gpu_support = bool(dock.get("gpuSupport", False))
        env.docker.base_image_registry.address = (dock.get("baseImageRegistry") or {}).get("address")
        env.docker.base_image_registry.username = (dock.get("baseImageRegistry") or {}).get("username")
        env.inferencing_stack_version = data.get("inferencingStackVersion")
        return env

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Environment) and other._to_dict() == self._to_dict()

    def __repr__(self) -> str:
        return json.dumps(self._to_dict(), indent=4)


class PythonSection:
    """`environment.python`: Azure's defaults (`user_managed_dependencies=False`, `python`)."""

    def __init__(self) -> None:
        self.user_managed_dependencies = False
        self.interpreter_path = "python"
        self.conda_dependencies_file: str | None = None
        self.base_conda_environment: str | None = None
        self.conda_dependencies: CondaDependencies | None = CondaDependencies()


class DockerSection:
    """`environment.docker`: recorded only; aml-bridge builds no images."""

    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = DEFAULT_CPU_IMAGE
        self.base_dockerfile: str | None = None
        self.base_image_registry = ContainerRegistry()
        self.shm_size = "2g"
        self.arguments: list[str] = []
        self.shared_volumes = True
        self.gpu_support = False  # Azure's deprecated flag; the Estimator sets it for use_gpu


class ContainerRegistry:
    """Where a base image would come from; credentials are kept out of serialisation."""

    def __init__(self) -> None:
        self.address: str | None = None
        self.username: str | None = None
        self.password: str | None = None


def _read_requirements(path: str) -> list[str]:
    with open(path) as fh:
        return [line.split(" #")[0].strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]


def _pip_spec(file_path: str, pip_version: str | None) -> CondaDependencies:
    cd = CondaDependencies()
    cd.remove_pip_package("azureml-defaults")
    if pip_version:
        cd.add_conda_package(f"pip={pip_version}")
    for line in _read_requirements(file_path):
        if line.startswith("-"):
            cd.set_pip_option(line)
        else:
            cd.add_pip_package(line)
    return cd


def _apply_specs(env: Environment, conda_specification: str | None, pip_requirements: str | None) -> None:
    if conda_specification and pip_requirements:
        raise UserErrorException("Give either conda_specification or pip_requirements, not both.")
    if conda_specification:
        env.python.conda_dependencies = CondaDependencies(conda_dependencies_file_path=conda_specification)
    elif pip_requirements:
        env.python.conda_dependencies = _pip_spec(pip_requirements, None)
    else:
        env.python.user_managed_dependencies = True


def _curated(name: str) -> Environment:
    env = Environment(name)
    env.version = "1"
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = sys.executable
    return env


def _registry_path(workspace: Any) -> str:
    return os.path.join(workspace.config.home, REGISTRY_FILE)


def _read_registry(workspace: Any) -> dict[str, dict[str, dict[str, Any]]]:
    try:
        with open(_registry_path(workspace)) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


def _write_registry(workspace: Any, registry: dict[str, Any]) -> None:
    path = _registry_path(workspace)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as fh:
        json.dump(registry, fh, indent=2)
    os.replace(temporary, path)  # readers never see half a file


__all__ = ["CondaDependencies", "ContainerRegistry", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DockerSection",
           "Environment", "PythonSection"]
