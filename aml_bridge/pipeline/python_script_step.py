"""`PythonScriptStep`: run a script from a source directory, with Azure's argument and port rules."""

from __future__ import annotations

import logging
import os
from typing import Any

from .arguments import Arg, process_arguments
from .errors import PipelineDefinitionError
from .parameter import PipelineParameter
from .runconfig import check_runconfig_params, compute_target_name, runconfig_env, runconfig_summary
from .step import PipelineStep

logger = logging.getLogger(__name__)


class PythonScriptStep(PipelineStep):
    """Runs `script_name` (relative to `source_directory`) in a subprocess; name defaults to the script."""

    kind = "python_script"
    _rename_colliding_inputs = True

    def __init__(self, script_name: str, name: str | None = None, arguments: list[Any] | None = None,
                 compute_target: Any = None, runconfig: Any = None,
                 runconfig_pipeline_params: dict[str, PipelineParameter] | None = None,
                 inputs: list[Any] | None = None, outputs: list[Any] | None = None,
                 params: dict[str, Any] | None = None, source_directory: str | None = None,
                 allow_reuse: bool = True, version: str | None = None, hash_paths: list[str] | None = None) -> None:
        if not script_name or not isinstance(script_name, str):
            raise ValueError("script_name is required and must be a string")
        name = name or script_name
        if hash_paths:
            logger.warning("Step [%s]: hash_paths is deprecated and ignored; the whole source_directory "
                           "is hashed (honouring .amlignore/.gitignore)", name)
        inputs, outputs, params = list(inputs or []), list(outputs or []), dict(params or {})
        processed = process_arguments(name, list(arguments or []), inputs, outputs, params)
        self.script_name = script_name
        self.source_directory = source_directory
        # Relative paths are taken against the cwd now, as Azure does, not when the plan is built.
        self._abs_source_directory = os.path.abspath(source_directory) if source_directory else None
        self.compute_target = compute_target_name(name, compute_target, runconfig)
        self.runconfig = runconfig
        self.runconfig_pipeline_params = check_runconfig_params(name, runconfig_pipeline_params, params)
        self.params = params
        super().__init__(name, inputs, outputs, processed, allow_reuse, version)

    @property
    def arguments(self) -> list[Arg]:
        return self._arguments

    def _source_directory(self, default: str) -> str:
        return self._abs_source_directory or default

    def _check_at_build(self, context: Any) -> None:
        script = os.path.join(self._source_directory(context.default_source_directory), self.script_name)
        if not os.path.isfile(script):
            raise PipelineDefinitionError(
                f"Step [{self.name}]: script not found at: {os.path.abspath(script)}. Make sure to specify an "
                "appropriate source_directory on the Step or default_source_directory on the Pipeline.")

    def _plan_spec(self, context: Any) -> dict[str, Any]:
        return {
            "script": self.script_name,
            "source_directory": self._source_directory(context.default_source_directory),
            "arguments": [context.argument(self, arg) for arg in self._arguments],
            "params": {key: context.param(value) for key, value in self.params.items()},
            "compute_target": self.compute_target,
            "environment_variables": runconfig_env(self.runconfig),
            "runconfig": runconfig_summary(self.runconfig),
            "runconfig_parameters": {k: p.name for k, p in self.runconfig_pipeline_params.items()},
            **({"extra": {"job": self._job(self.runconfig)}} if self.runconfig is not None else {}),
        }

    def _job(self, runconfig: Any) -> dict[str, Any]:
        """Environment, time limit and ranks for the launcher; a layout no task can run fails the build."""
        from ..errors import RunConfigurationException
        from ..train.job import JobSpec
        from ..train.ranks import rank_envs

        try:
            job = JobSpec.from_run_config(runconfig)
            rank_envs(job)
        except RunConfigurationException as exc:
            raise PipelineDefinitionError(f"Step [{self.name}]: {exc}") from None
        return job.to_dict()


__all__ = ["PythonScriptStep"]
