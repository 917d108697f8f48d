"""`azureml.core` on aml-bridge: the same names, backed by MLflow and Airflow.

`Dataset` and `Datastore` come from `aml_bridge.data` on first use, so importing this package
stays cheap and never depends on the data layer being importable.
"""

from typing import Any

from aml_bridge.authentication import (
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
)
from aml_bridge.compute import ComputeTarget
from aml_bridge.experiment import Experiment
from aml_bridge.model import Model
from aml_bridge.run import Run
from aml_bridge.train import Environment, RunConfiguration, ScriptRunConfig
from aml_bridge.workspace import Workspace

VERSION = "1.61.0"  # the azureml-core release whose behaviour aml-bridge reproduces (AML_API §0)
_LAZY = ("Dataset", "Datastore")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import aml_bridge.data

        return getattr(aml_bridge.data, name)
    raise AttributeError(f"module 'azureml.core' has no attribute {name!r}")


__all__ = [
    "AzureCliAuthentication", "ComputeTarget", "Dataset", "Datastore", "Environment", "Experiment",
    "InteractiveLoginAuthentication", "Model", "MsiAuthentication", "Run", "RunConfiguration", "ScriptRunConfig",
    "ServicePrincipalAuthentication", "VERSION", "Workspace",
]
