"""`EstimatorStep`: an `Estimator` as one pipeline step (one Airflow task, a step run like any other).

It is a `PythonScriptStep` of the estimator's entry script, source directory and run
configuration; its arguments come from `estimator_entry_script_arguments`, as in Azure.
"""

from __future__ import annotations

from typing import Any

from .parameter import PipelineParameter
from .python_script_step import PythonScriptStep


class EstimatorStep(PythonScriptStep):
    """Runs `estimator` with the step's arguments, inputs and outputs."""

    kind = "estimator"

    def __init__(self, name: str | None = None, estimator: Any = None,
                 estimator_entry_script_arguments: list[Any] | None = None,
                 runconfig_pipeline_params: dict[str, PipelineParameter] | None = None,
                 inputs: list[Any] | None = None, outputs: list[Any] | None = None, compute_target: Any = None,
                 allow_reuse: bool = True, version: str | None = None) -> None:
        if estimator is None:
            raise ValueError(f"Step [{name}]: estimator is required")
        if estimator_entry_script_arguments is None:
            raise ValueError(f"Step [{name}]: estimator_entry_script_arguments is required; if the entry script "
                             "takes no arguments, pass an empty list")
        if estimator.script_params:
            raise ValueError(f"Step [{name}]: the estimator's script_params must be empty in an EstimatorStep; "
                             "pass the arguments as estimator_entry_script_arguments")
        self.estimator = estimator
        super().__init__(estimator.run_config.script, name=name, arguments=estimator_entry_script_arguments,
                         compute_target=compute_target, runconfig=estimator.run_config,
                         runconfig_pipeline_params=runconfig_pipeline_params,
                         inputs=[*(inputs or []), *estimator.inputs], outputs=outputs,
                         source_directory=estimator.source_directory, allow_reuse=allow_reuse, version=version)


__all__ = ["EstimatorStep"]
