"""Isolated interpreters: one virtual environment per requirement set, built once and reused.

An environment that asks for packages (its conda spec's pip part, plus conda packages pip can
install) runs in `<home>/envs/<content hash>`. The build holds a file lock, so two jobs that need
the same environment at once build it once; a `complete` marker written last means a
half-built folder (a crash, a kill) is never used: the next job under the lock rebuilds it.

The venv sees its own packages first, then the launching environment's (a `.pth` overlay), so
aml-bridge, MLflow and the compat package stay importable. The overlay is in place before pip
runs: a requirement the launching environment already satisfies is taken from it (Azure code lists
`scikit-learn`, `pandas` unpinned; installing the newest again would shadow the versions MLflow
was installed with, and cost a download per environment), and only what is missing or asked in
another version is installed into the venv. pip never changes the launching environment: it
installs into the venv only.
`azureml-*` packages are provided by aml-bridge's compat package and never installed; the
python pin is not honoured (the venv uses this interpreter's version).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import re
import site
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from ..errors import UserErrorException
from .conda_dependencies import _name

CONDA_BUILTINS = {"python", "pip", "setuptools", "wheel"}
PROVIDED = re.compile(r"^(azureml([-_.].*)?|azure-ai-ml)$")  # the compat package stands in for these
MARKER = "aml-bridge-complete.json"
OVERLAY = "_aml_bridge_host.pth"


def interpreter_for(environment: dict[str, Any], home: str, say: Callable[[str], None] = print) -> str:
    """The Python to run a job of `environment` (Environment JSON) with; builds its venv if needed."""
    from .environment import Environment

    env = Environment._from_dict(environment)
    if env.python.user_managed_dependencies:
        path = env.python.interpreter_path
        return sys.executable if path in ("python", "python3", None) else path
    requirements, options = requirements_of(env)
    if all(host_satisfies(r) for r in requirements):
        return sys.executable  # nothing to install: a venv would only add its start-up cost
    return ensure_venv(requirements, options, os.path.join(home, "envs"), say, name=env.name)


def host_satisfies(requirement: str) -> bool:
    """Whether the launching environment already has a distribution that meets `requirement`."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        wanted = Requirement(requirement)
        installed = metadata.version(wanted.name)
    except (InvalidRequirement, metadata.PackageNotFoundError):
        return False
    return not wanted.url and wanted.specifier.contains(installed, prereleases=True)


def requirements_of(env: Any) -> tuple[list[str], list[str]]:
    """pip requirements and pip options of an environment; conda-only specs raise, naming them."""
    cd = env.python.conda_dependencies
    if cd is None:
        return [], []
    conda = [spec for spec in cd.conda_packages if _name(spec) not in CONDA_BUILTINS]
    conda_only = [spec for spec in conda if "::" in spec or spec.count("=") - spec.count("==") * 2 > 1]
    if conda_only:
        raise UserErrorException(
            f"Environment {env.name!r}: conda packages {conda_only} need conda (a channel or build string), "
            "which aml-bridge does not run. List them as pip packages if PyPI has them, or use a user-managed "
            "environment (python.user_managed_dependencies=True, interpreter_path=...) that already has them.")
    pip = [spec for spec in cd.pip_packages if not PROVIDED.match(_name(spec))]
    return sorted(set(pip + [_conda_to_pip(spec) for spec in conda])), list(cd.pip_options)


def _conda_to_pip(spec: str) -> str:
    """`numpy=1.23` (conda: any 1.23.x) -> `numpy==1.23.*`; `pkg>=1` stays."""
    found = re.fullmatch(r"([\w.\-]+)=([\w.*]+)", spec.strip())
    if found is None:
        return spec
    name, version = found.groups()
    return f"{name}=={version}" if version.count(".") >= 2 or "*" in version else f"{name}=={version}.*"


def environment_key(requirements: list[str], options: list[str]) -> str:
    """Content hash of a requirement set for this interpreter (version, platform, host packages)."""
    identity = {"requirements": sorted(requirements), "options": options, "python": sys.version,
                "platform": sys.platform, "host": sys.prefix}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def ensure_venv(requirements: list[str], options: list[str], root: str, say: Callable[[str], None] = print,
                name: str = "environment") -> str:
    """The venv's python for `requirements`: reused when complete, else built under the lock."""
    path = os.path.join(root, environment_key(requirements, options))
    python = os.path.join(path, "bin", "python")
    started = time.monotonic()
    if not os.path.exists(os.path.join(path, MARKER)):
        os.makedirs(root, exist_ok=True)
        with _locked(f"{path}.lock"):
            if not os.path.exists(os.path.join(path, MARKER)):  # someone else may have built it meanwhile
                say(f"Building environment {name!r} ({', '.join(requirements)}) in {path}")
                _build(path, requirements, options)
                seconds = time.monotonic() - started
                _write_marker(path, requirements, seconds)
                say(f"Built environment {name!r} in {seconds:.1f} s")
                return python
    say(f"Reusing environment {name!r} from {path} ({(time.monotonic() - started) * 1000:.1f} ms)")
    return python


@contextmanager
def _locked(lock_path: str):
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes, also if we are killed
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(path: str, requirements: list[str], options: list[str]) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)  # a half-built one from an earlier crash
    has_pip = importlib.util.find_spec("pip") is not None
    _check([sys.executable, "-m", "venv", *(["--without-pip"] if has_pip else []), path], "creating the venv")
    python = os.path.join(path, "bin", "python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(purelib, OVERLAY), "w") as fh:
        fh.write("".join(f"import site; site.addsitedir({d!r})\n" for d in _host_site_dirs()))
    installer = [sys.executable, "-m", "pip", "--python", python] if has_pip else [python, "-m", "pip"]
    flags = [part for option in options for part in option.split()]
    _check([*installer, "install", "--disable-pip-version-check", "--no-input", *flags, *requirements],
           f"installing {', '.join(requirements)}")


def _host_site_dirs() -> list[str]:
    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _check(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise UserErrorException(f"Building the environment failed while {what}:\n{tail}")


def _write_marker(path: str, requirements: list[str], seconds: float) -> None:
    temporary = os.path.join(path, f"{MARKER}.{os.getpid()}.tmp")
    with open(temporary, "w") as fh:
        json.dump({"requirements": requirements, "build_seconds": round(seconds, 2), "built_by": os.getpid(),
                   "python": sys.version}, fh)
    os.replace(temporary, os.path.join(path, MARKER))


__all__ = ["MARKER", "ensure_venv", "environment_key", "interpreter_for", "requirements_of"]
