"""`Estimator` (deprecated in Azure, still common): a ScriptRunConfig built from keyword arguments.

Every argument of AML_API §2.5 maps onto a `RunConfiguration`; the invalid combinations raise
`TrainingException` naming the arguments, at construction as in Azure. Submitting runs it like a
`ScriptRunConfig` (aml_bridge/train/submit.py), with `script_params` flattened to argv.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..errors import TrainingException
from .conda_dependencies import CondaDependencies
from .distributed import apply_training
from .environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, Environment
from .script_params import flatten_script_params
from .script_run_config import DockerConfiguration, MpiConfiguration, RunConfiguration

log = logging.getLogger(__name__)

SUBMIT_OVERRIDES = ("script_params", "inputs", "source_directory_data_store")
# Arguments `environment_definition` replaces, with their defaults (given = differs from default).
ENVIRONMENT_ARGS = {"use_gpu": False, "use_docker": True, "custom_docker_base_image": None, "custom_docker_image": None,
                    "image_registry_details": None, "user_managed": False, "conda_packages": None,
                    "pip_packages": None, "conda_dependencies_file_path": None, "pip_requirements_file_path": None,
                    "conda_dependencies_file": None, "pip_requirements_file": None, "environment_variables": None,
                    "shm_size": None}
PACKAGE_ARGS = ("conda_packages", "pip_packages", "conda_dependencies_file_path", "pip_requirements_file_path",
                "conda_dependencies_file", "pip_requirements_file")
MULTI_NODE_TARGETS = ("AmlCompute", "Kubernetes", "KubernetesCompute", "amlcompute")


class Estimator:
    """Azure's generic estimator; `run_config` holds what it means (see `Estimator.run_config`)."""

    def __init__(self, source_directory: str, *, compute_target: Any = None, vm_size: str | None = None,
                 vm_priority: str | None = None, entry_script: str | None = None,
                 script_params: dict[str, Any] | None = None, node_count: int = 1, process_count_per_node: int = 1,
                 distributed_backend: str | None = None, distributed_training: Any = None, use_gpu: bool = False,
                 use_docker: bool = True, custom_docker_base_image: str | None = None,
                 custom_docker_image: str | None = None, image_registry_details: Any = None,
                 user_managed: bool = False, conda_packages: list[str] | None = None,
                 pip_packages: list[str] | None = None, conda_dependencies_file_path: str | None = None,
                 pip_requirements_file_path: str | None = None, conda_dependencies_file: str | None = None,
                 pip_requirements_file: str | None = None, environment_variables: dict[str, str] | None = None,
                 environment_definition: Environment | None = None, inputs: list[Any] | None = None,
                 source_directory_data_store: Any = None, shm_size: str | None = None, resume_from: Any = None,
                 max_run_duration_seconds: int | None = None, _disable_validation: bool = True,
                 _show_lint_warnings: bool = False, _show_package_warnings: bool = False) -> None:
        log.warning("'Estimator' is deprecated in Azure ML; aml-bridge runs it as a ScriptRunConfig.")
        given = dict(locals())
        _validate(given)
        self.source_directory = source_directory
        self.inputs = list(inputs or [])
        self.source_directory_data_store = source_directory_data_store
        self.resume_from = resume_from
        self._script_params = dict(script_params or {})
        if resume_from is not None:
            self._script_params["--resume-from"] = "$AZUREML_DATAREFERENCE_MODEL_LOCATION"
        self.run_config = _run_config(given)
        self.run_config.arguments = flatten_script_params(self._script_params)

    @property
    def script_params(self) -> dict[str, Any]:
        return dict(self._script_params)

    # ScriptRunConfig's view, so one submit path serves both
    @property
    def script(self) -> str | None:
        return self.run_config.script

    @property
    def arguments(self) -> list[Any]:
        return self.run_config.arguments

    command = None

    def _aml_submit(self, experiment: Any, tags: dict[str, Any] | None = None, run_id: str | None = None,
                    **overrides: Any) -> Any:
        """`Experiment.submit(estimator, script_params=...)`: only Azure's three overrides are allowed."""
        from .submit import submit_local

        unknown = sorted(set(overrides) - set(SUBMIT_OVERRIDES))
        if unknown:
            raise TrainingException(f"Estimator submit accepts only {', '.join(SUBMIT_OVERRIDES)} as overrides; "
                                    f"got {', '.join(unknown)}.")
        if overrides.get("script_params") is not None:
            self._script_params = dict(overrides["script_params"])
            self.run_config.arguments = flatten_script_params(self._script_params)
        if overrides.get("inputs") is not None:
            self.inputs = list(overrides["inputs"])
        return submit_local(self, experiment, tags=tags, run_id=run_id)


def _validate(a: dict[str, Any]) -> None:
    """Azure's checks (AML_API §2.5); each error names the arguments involved."""
    if a["compute_target"] is None and not a["vm_size"]:
        _fail("Either compute_target or vm_size must be given (without compute_target an AmlCompute cluster "
              "of vm_size is created for the run).")
    for name in ("node_count", "process_count_per_node"):
        if not isinstance(a[name], int) or a[name] < 1:
            _fail(f"{name} must be an integer of at least 1, got {a[name]!r}.")
    if a["distributed_backend"] is not None and a["distributed_training"] is not None:
        _fail("distributed_backend and distributed_training cannot both be given; use distributed_training.")
    if a["distributed_backend"] is not None and str(a["distributed_backend"]).lower() != "mpi":
        _fail(f"distributed_backend must be 'mpi', got {a['distributed_backend']!r}.")
    distributed = a["distributed_backend"] is not None or a["distributed_training"] is not None
    if (a["node_count"] > 1 or a["process_count_per_node"] > 1) and not distributed:
        _fail("node_count > 1 or process_count_per_node > 1 needs distributed_training (or distributed_backend).")
    if a["node_count"] > 1 and _target_type(a["compute_target"]) not in MULTI_NODE_TARGETS:
        _fail(f"node_count={a['node_count']} needs an AmlCompute or Kubernetes compute_target, got "
              f"{_target_type(a['compute_target'])!r}.")
    if a["custom_docker_image"] and a["custom_docker_base_image"]:
        _fail("custom_docker_image and custom_docker_base_image cannot both be given (the latter is its "
              "deprecated alias).")
    if not a["use_docker"] and (a["custom_docker_image"] or a["custom_docker_base_image"]):
        _fail("use_docker=False cannot be combined with custom_docker_image.")
    for new, old in (("conda_dependencies_file", "conda_dependencies_file_path"),
                     ("pip_requirements_file", "pip_requirements_file_path")):
        if a[new] and a[old]:
            _fail(f"{new} and {old} cannot both be given ({old} is deprecated).")
    conda_file = a["conda_dependencies_file"] or a["conda_dependencies_file_path"]
    clashing = [n for n in ("pip_packages", "pip_requirements_file", "pip_requirements_file_path", "conda_packages")
                if a[n]]
    if conda_file and clashing:
        _fail(f"conda_dependencies_file cannot be combined with {', '.join(clashing)}: list those packages in "
              "the conda file.")
    if a["user_managed"] and any(a[n] for n in PACKAGE_ARGS):
        _fail(f"user_managed=True cannot be combined with {', '.join(n for n in PACKAGE_ARGS if a[n])}: a "
              "user-managed environment installs nothing.")
    if a["environment_definition"] is not None:
        clashing = [n for n, default in ENVIRONMENT_ARGS.items() if a[n] != default]
        if clashing:
            _fail(f"environment_definition cannot be combined with {', '.join(clashing)}: set them on the "
                  "Environment instead.")
    if a["resume_from"] is not None:
        from ..data.datapath import DataPath

        if not isinstance(a["resume_from"], DataPath):
            _fail(f"resume_from must be a DataPath, got {type(a['resume_from']).__name__}.")


def _fail(message: str) -> None:
    raise TrainingException(message)


def _target_type(target: Any) -> str:
    """A compute object's type; a name stands for a cluster, except `local` (and None: a new cluster)."""
    if target is None or (isinstance(target, str) and target != "local"):
        return "AmlCompute"
    return target if isinstance(target, str) else str(getattr(target, "type", type(target).__name__))


def _run_config(a: dict[str, Any]) -> RunConfiguration:
    rc = RunConfiguration(script=a["entry_script"])
    rc.target = a["compute_target"] if a["compute_target"] is not None else "amlcompute"
    rc.amlcompute.vm_size, rc.amlcompute.vm_priority = a["vm_size"], a["vm_priority"]
    rc.amlcompute.cluster_max_node_count = a["node_count"]
    rc.node_count = a["node_count"]
    rc.max_run_duration_seconds = a["max_run_duration_seconds"]
    rc.environment_variables = dict(a["environment_variables"] or {})
    rc.docker = DockerConfiguration(use_docker=a["use_docker"], shm_size=a["shm_size"] or "2g")
    rc.environment = a["environment_definition"] or _environment(a)
    if a["distributed_training"] is not None:
        apply_training(rc, a["distributed_training"], a["node_count"], a["process_count_per_node"])
    elif a["distributed_backend"] is not None:
        rc.framework, rc.communicator = "Python", "IntelMpi"
        rc.mpi = MpiConfiguration(a["process_count_per_node"], a["node_count"])
    if a["resume_from"] is not None:
        from ..data.datapath import DataPathComputeBinding

        rc.data_references["MODEL_LOCATION"] = a["resume_from"].create_data_reference(
            "MODEL_LOCATION", DataPathComputeBinding(mode="mount"))
    return rc


def _environment(a: dict[str, Any]) -> Environment:
    env = Environment("estimator-environment")
    env.docker.enabled = a["use_docker"]
    env.docker.base_image = a["custom_docker_image"] or a["custom_docker_base_image"] or (
        DEFAULT_GPU_IMAGE if a["use_gpu"] else DEFAULT_CPU_IMAGE)
    env.docker.gpu_support = a["use_gpu"]
    if a["shm_size"]:
        env.docker.shm_size = a["shm_size"]
    if a["image_registry_details"] is not None:
        env.docker.base_image_registry = a["image_registry_details"]
    if a["user_managed"]:
        env.python.user_managed_dependencies = True
        return env
    conda_file = a["conda_dependencies_file"] or a["conda_dependencies_file_path"]
    if conda_file:
        env.python.conda_dependencies = CondaDependencies(_in_source(a, conda_file))
        return env
    cd = CondaDependencies.create(conda_packages=a["conda_packages"], pip_packages=a["pip_packages"])
    requirements = a["pip_requirements_file"] or a["pip_requirements_file_path"]
    if requirements:
        for package in Environment.from_pip_requirements("r", _in_source(a, requirements)).python.conda_dependencies \
                .pip_packages:
            cd.add_pip_package(package)
    env.python.conda_dependencies = cd
    return env


def _in_source(a: dict[str, Any], path: str) -> str:
    """A spec file as given, else relative to `source_directory` (Azure's `*_path` arguments)."""
    return path if os.path.exists(path) else os.path.join(a["source_directory"], path)


__all__ = ["Estimator"]
