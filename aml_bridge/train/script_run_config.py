"""`ScriptRunConfig` and `RunConfiguration`: Azure's job configuration records (AML_API §2.2–2.3).

They keep Azure's defaults and validations so configuration code runs unchanged and later
stages (local submit, pipeline steps) read one well-defined record; `JobSpec.from_run_config`
(aml_bridge/train/job.py) is what the launcher acts on.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import RunConfigurationException, UserErrorException
from .environment import Environment

log = logging.getLogger(__name__)

DEFAULT_MAX_RUN_DURATION_SECONDS = 2592000  # 30 days


class DockerConfiguration:
    """Docker runtime settings of a run (recorded only)."""

    def __init__(self, use_docker: bool = False, shared_volumes: bool = True, arguments: list[str] | None = None,
                 shm_size: str | None = "2g") -> None:
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size


class MpiConfiguration:
    def __init__(self, process_count_per_node: int = 1, node_count: int = 1) -> None:
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count


class PyTorchConfiguration:
    def __init__(self, communication_backend: str = "Nccl", process_count: int | None = None,
                 node_count: int = 1) -> None:
        self.communication_backend = communication_backend
        self.process_count = process_count
        self.node_count = node_count


class TensorflowConfiguration:
    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count


class HistoryConfiguration:
    def __init__(self, output_collection: bool = True, snapshot_project: bool = True,
                 directories_to_watch: list[str] | None = None) -> None:
        self.output_collection = output_collection
        self.snapshot_project = snapshot_project
        self.directories_to_watch = ["logs"] if directories_to_watch is None else list(directories_to_watch)


class AmlComputeConfiguration:
    """Legacy `run_config.amlcompute` (run-scoped cluster settings), recorded only."""

    def __init__(self) -> None:
        self.vm_size: str | None = None
        self.vm_priority: str | None = None
        self.cluster_max_node_count: int | None = None


class RunConfiguration:
    """How to run a job: Azure's defaults (target `local`, framework `Python`, communicator `None`)."""

    def __init__(self, script: str | None = None, arguments: list[Any] | None = None, framework: str | None = None,
                 communicator: str | None = None, conda_dependencies: Any = None, _history_enabled: bool | None = None,
                 _path: str | None = None, _name: str | None = None, command: list[str] | str | None = None) -> None:
        self.script = script
        self.arguments = list(arguments or [])
        self.command = command
        self._target = "local"
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.max_run_duration_seconds: int | None = None
        self.node_count = 1
        self.environment = Environment("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.history = HistoryConfiguration(output_collection=_history_enabled is not False)
        self.docker = DockerConfiguration()
        self.environment_variables: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.data_references: dict[str, Any] = {}
        self.output_data: dict[str, Any] = {}
        self.mpi = MpiConfiguration()
        self.pytorch = PyTorchConfiguration()
        self.tensorflow = TensorflowConfiguration()
        self.amlcompute = AmlComputeConfiguration()

    @property
    def target(self) -> str:
        """The compute target's name; a `ComputeTarget` object may be assigned (Azure keeps its name)."""
        return self._target

    @target.setter
    def target(self, value: Any) -> None:
        self._target = value if isinstance(value, str) else getattr(value, "name", str(value))


class ScriptRunConfig:
    """A script (or command) to run in `source_directory`, with its run configuration."""

    def __init__(self, source_directory: str, script: str | None = None, arguments: list[Any] | None = None,
                 run_config: RunConfiguration | None = None, _telemetry_values: Any = None,
                 compute_target: Any = None, environment: Environment | None = None,
                 distributed_job_config: Any = None, resume_from: Any = None,
                 max_run_duration_seconds: int = DEFAULT_MAX_RUN_DURATION_SECONDS,
                 command: list[str] | str | None = None, docker_runtime_config: DockerConfiguration | None = None) -> None:
        if command and (script or arguments):
            raise UserErrorException("Use either command, or script with arguments; they cannot be used together.")
        self.source_directory = source_directory
        if run_config is not None:
            _warn_ignored(compute_target=compute_target, environment=environment,
                          distributed_job_config=distributed_job_config, docker_runtime_config=docker_runtime_config,
                          max_run_duration_seconds=None if max_run_duration_seconds ==
                          DEFAULT_MAX_RUN_DURATION_SECONDS else max_run_duration_seconds)
            script = run_config.script if script is None and not command else script
            arguments = run_config.arguments if arguments is None and not command else arguments
            command = run_config.command if command is None and not script else command
        else:
            run_config = RunConfiguration()
            run_config.target = compute_target or "local"
            run_config.environment = environment or Environment("default-environment")
            run_config.max_run_duration_seconds = max_run_duration_seconds
            if distributed_job_config is not None:
                apply_distributed(run_config, distributed_job_config)
            if docker_runtime_config is not None:
                run_config.docker = docker_runtime_config
        self.run_config = run_config
        arguments = list(arguments or [])
        if resume_from is not None:
            from ..data.datapath import DataPath, DataPathComputeBinding

            if not isinstance(resume_from, DataPath):
                raise UserErrorException(f"resume_from must be a DataPath, got {type(resume_from).__name__}.")
            arguments += ["--resume-from", "$AZUREML_DATAREFERENCE_MODEL_LOCATION"]
            run_config.data_references["MODEL_LOCATION"] = resume_from.create_data_reference(
                "MODEL_LOCATION", DataPathComputeBinding(mode="mount"))
        self.script = run_config.script = script
        self.arguments = run_config.arguments = arguments
        self.command = run_config.command = command

    def _aml_submit(self, experiment: Any, tags: dict[str, Any] | None = None, run_id: str | None = None,
                    _parent_run_id: str | None = None, credential_passthrough: bool = False) -> Any:
        """`Experiment.submit(config)`: run locally in a detached process and return the run at once."""
        from .submit import submit_local

        return submit_local(self, experiment, tags=tags, run_id=run_id, parent_run_id=_parent_run_id)


def apply_distributed(run_config: RunConfiguration, config: Any) -> None:
    """Azure's mapping of a distributed configuration onto framework, communicator and node count."""
    if isinstance(config, MpiConfiguration):
        run_config.framework, run_config.communicator, run_config.node_count = "Python", "IntelMpi", config.node_count
        run_config.mpi = config
    elif isinstance(config, PyTorchConfiguration):
        run_config.framework, run_config.communicator = "PyTorch", config.communication_backend
        run_config.node_count, run_config.pytorch = config.node_count, config
    elif isinstance(config, TensorflowConfiguration):
        run_config.framework, run_config.communicator = "TensorFlow", "ParameterServer"
        run_config.node_count, run_config.tensorflow = config.worker_count, config
    else:
        raise RunConfigurationException(
            f"distributed_job_config must be an MpiConfiguration, PyTorchConfiguration or TensorflowConfiguration, "
            f"got {type(config).__name__}.")


def _warn_ignored(**given: Any) -> None:
    ignored = sorted(name for name, value in given.items() if value is not None)
    if ignored:
        log.warning("ScriptRunConfig: %s ignored because run_config was given; set them on the run_config.",
                    ", ".join(ignored))


__all__ = ["AmlComputeConfiguration", "DockerConfiguration", "HistoryConfiguration", "MpiConfiguration",
           "PyTorchConfiguration", "RunConfiguration", "ScriptRunConfig", "TensorflowConfiguration",
           "apply_distributed"]
