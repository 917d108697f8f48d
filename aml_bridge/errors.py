"""Exceptions: one root (`AmlBridgeError`) and the Azure-named classes scripts catch.

Azure ML code catches `azureml.exceptions.*` by name, so every class here carries the
Azure name and is re-exported unchanged by the compat package.
"""

from __future__ import annotations

import json
from typing import Any


class AmlBridgeError(Exception):
    """Root of every error aml-bridge raises on purpose."""


class AzureMLException(AmlBridgeError):
    """Azure's root exception; `error_code` mirrors the SDK's inner error code."""

    def __init__(self, message: str = "", error_code: str | None = None, **kwargs: Any) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        for key, value in kwargs.items():
            setattr(self, key, value)


class UserErrorException(AzureMLException):
    """Bad arguments from user code."""


class RunEnvironmentException(AzureMLException):
    """`Run.get_context(allow_offline=False)` outside a submitted job."""


class ActivityFailedException(AzureMLException):
    """Waiting on a run that ended Failed."""

    def __init__(self, error_details: dict | str | None = None, message: str | None = None) -> None:
        text = error_details if isinstance(error_details, str) else json.dumps(error_details, indent=2)
        super().__init__(message or f"ActivityFailedException:\n Message: Activity Failed:\n{text}")
        self.error_details = error_details


class ExperimentExecutionException(AzureMLException):
    """Streaming or executing an experiment was interrupted."""


class SnapshotException(AzureMLException):
    """Second snapshot of a run, or a snapshot over the size/file limits."""


class ModelPathNotFoundException(UserErrorException):
    """`register_model` with a path that is not among the run's artifacts."""


class TrainingException(AzureMLException):
    """Estimator validation."""


class RunConfigurationException(AzureMLException):
    """Bad distributed or docker configuration."""


class ParallelRunException(AzureMLException):
    """ParallelRunStep configuration or execution error."""


class AzureMLAggregatedException(AzureMLException):
    """Several service errors at once; artifact conflicts arrive as this."""


class WebserviceException(AzureMLException):
    """Model registry lookups that find nothing (Azure raises this from `Model(...)`)."""


class ComputeTargetException(AzureMLException):
    """Compute lookups; aml-bridge accepts every compute name, so user code rarely sees it."""


class ProjectSystemException(AzureMLException):
    """Workspace configuration could not be found or read."""


class PluginError(AmlBridgeError):
    """A plugin is missing or broken (for example no tracking backend is installed)."""


__all__ = [
    "ActivityFailedException",
    "AmlBridgeError",
    "AzureMLAggregatedException",
    "AzureMLException",
    "ComputeTargetException",
    "ExperimentExecutionException",
    "ModelPathNotFoundException",
    "ParallelRunException",
    "PluginError",
    "ProjectSystemException",
    "RunConfigurationException",
    "RunEnvironmentException",
    "SnapshotException",
    "TrainingException",
    "UserErrorException",
    "WebserviceException",
]
