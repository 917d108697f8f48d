"""`CondaDependencies`: Azure's conda environment spec, edited the way Azure edits it.

`name`, `dependencies` (conda specs and one `pip:` list) and `channels`; adding a package
whose name is already there replaces the old spec. Only recorded: nothing is installed here.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from typing import Any

from ..errors import UserErrorException

SDK_VERSION = "1.61.0"
_HEADER = ("# Conda environment specification. The dependencies defined in this file will\n"
           "# be automatically provisioned for runs with userManagedDependencies=False.\n\n")


class CondaDependencies:
    """A conda environment spec (`name`, `dependencies` with an optional `pip` list, `channels`)."""

    DEFAULT_PYTHON_VERSION = "3.8.13"

    def __init__(self, conda_dependencies_file_path: str | None = None,
                 _underlying_structure: dict[str, Any] | None = None) -> None:
        if conda_dependencies_file_path:
            with open(conda_dependencies_file_path) as fh:
                structure = _yaml().safe_load(fh) or {}
        elif _underlying_structure is not None:
            structure = copy.deepcopy(_underlying_structure)
        else:
            structure = {"name": "project_environment",
                         "dependencies": [f"python={self.DEFAULT_PYTHON_VERSION}", {"pip": ["azureml-defaults"]}],
                         "channels": ["anaconda", "conda-forge"]}
        if not isinstance(structure, dict):
            raise UserErrorException(f"{conda_dependencies_file_path} is not a conda environment specification.")
        self._conda_dependencies = structure

    @staticmethod
    def create(pip_indexurl: str | None = None, pip_packages: list[str] | None = None,
               conda_packages: list[str] | None = None, python_version: str = DEFAULT_PYTHON_VERSION,
               pin_sdk_version: bool = True) -> CondaDependencies:
        """Azure's factory: python pin, `azureml-defaults` (pinned to the SDK) and the given packages."""
        cd = CondaDependencies()
        cd.set_python_version(python_version)
        cd.remove_pip_package("azureml-defaults")
        cd.add_pip_package(f"azureml-defaults~={SDK_VERSION}" if pin_sdk_version else "azureml-defaults")
        for package in conda_packages or []:
            cd.add_conda_package(package)
        for package in pip_packages or []:
            cd.add_pip_package(package)
        if pip_indexurl:
            cd.set_pip_option(f"--index-url {pip_indexurl}")
        return cd

    # --- reading ---------------------------------------------------------------------------

    @property
    def conda_packages(self) -> list[str]:
        return [d for d in self._dependencies() if isinstance(d, str)]

    @property
    def pip_packages(self) -> list[str]:
        return [p for p in self._pip() if not p.startswith("-")]

    @property
    def pip_options(self) -> list[str]:
        return [p for p in self._pip() if p.startswith("-")]

    @property
    def conda_channels(self) -> list[str]:
        return list(self._conda_dependencies.get("channels") or [])

    def get_python_version(self) -> str | None:
        found = [p for p in self.conda_packages if _name(p) == "python"]
        return re.split(r"[=<>~]+", found[0], maxsplit=1)[1] if found and re.search(r"[=<>~]", found[0]) else None

    def serialize_to_string(self) -> str:
        return _HEADER + _yaml().safe_dump(self._conda_dependencies, sort_keys=False, default_flow_style=False)

    def save(self, path: str | None = None) -> str:
        path = path or "conda_dependencies.yml"
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(self.serialize_to_string())
        return path

    def save_to_file(self, base_directory: str, conda_file_path: str | None = None) -> str:
        return self.save(os.path.join(base_directory, conda_file_path or "conda_dependencies.yml"))

    # --- editing (same name again replaces the old spec, as in Azure) -------------------------

    def add_conda_package(self, conda_package: str) -> None:
        self.remove_conda_package(_name(conda_package))
        deps = self._dependencies()
        pip_at = next((i for i, d in enumerate(deps) if isinstance(d, dict)), len(deps))
        deps.insert(pip_at, conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        deps = self._dependencies()
        deps[:] = [d for d in deps if not (isinstance(d, str) and _name(d) == _name(conda_package))]

    def add_pip_package(self, pip_package: str) -> None:
        self.remove_pip_package(_name(pip_package))
        self._pip(create=True).append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        pip = self._pip()
        pip[:] = [p for p in pip if p.startswith("-") or _name(p) != _name(pip_package)]

    def set_pip_option(self, pip_option: str) -> None:
        flag = pip_option.split()[0]
        pip = self._pip(create=True)
        pip[:] = [p for p in pip if p.split()[0] != flag]
        pip.insert(0, pip_option)

    def add_channel(self, channel: str) -> None:
        channels = self._conda_dependencies.setdefault("channels", [])
        if channel not in channels:
            channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        self._conda_dependencies["channels"] = [c for c in self.conda_channels if c != channel]

    def set_python_version(self, version: str) -> None:
        self.remove_conda_package("python")
        self._dependencies().insert(0, f"python={version}")

    def _dependencies(self) -> list[Any]:
        deps = self._conda_dependencies.get("dependencies")
        if deps is None:
            deps = self._conda_dependencies["dependencies"] = []
        return deps

    def _pip(self, create: bool = False) -> list[str]:
        for dep in self._dependencies():
            if isinstance(dep, dict) and "pip" in dep:
                return dep["pip"]
        if not create:
            return []
        section: dict[str, list[str]] = {"pip": []}
        self._dependencies().append(section)
        return section["pip"]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CondaDependencies) and other._conda_dependencies == self._conda_dependencies

    def __repr__(self) -> str:
        return self.serialize_to_string()


def _name(spec: str) -> str:
    """Package name of a conda/pip spec (`numpy==1.2`, `pkg[extra]>=1`, `python=3.8`)."""
    return re.split(r"[=<>~!\[\s;@]", spec.strip(), maxsplit=1)[0].lower()


def _yaml() -> Any:
    import yaml  # ships with MLflow; imported only when a spec is read or written

    return yaml


def conda_env_export(conda_environment_name: str) -> CondaDependencies:
    """The spec of an existing conda environment, as `conda env export` prints it."""
    conda = shutil.which("conda")
    if conda is None:
        raise UserErrorException(
            f"Cannot read conda environment {conda_environment_name!r}: no `conda` executable on PATH.")
    done = subprocess.run([conda, "env", "export", "-n", conda_environment_name], capture_output=True, text=True)
    if done.returncode != 0:
        raise UserErrorException(f"conda env export -n {conda_environment_name} failed: {done.stderr.strip()}")
    structure = _yaml().safe_load(done.stdout) or {}
    structure.pop("prefix", None)
    return CondaDependencies(_underlying_structure=structure)


__all__ = ["CondaDependencies", "SDK_VERSION", "conda_env_export"]
