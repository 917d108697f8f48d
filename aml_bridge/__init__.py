"""aml-bridge: the Azure ML SDK v1 API on MLflow, Airflow 3 and S3.

`import aml_bridge` stays light (no mlflow, airflow or boto3): backends load on first use.
"""

from .errors import (
    ActivityFailedException,
    AmlBridgeError,
    AzureMLException,
    ModelPathNotFoundException,
    RunEnvironmentException,
    UserErrorException,
)
from .experiment import Experiment
from .hookspecs import hookimpl
from .model import Model
from .run import Run
from .workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "ActivityFailedException",
    "AmlBridgeError",
    "AzureMLException",
    "Experiment",
    "Model",
    "ModelPathNotFoundException",
    "Run",
    "RunEnvironmentException",
    "UserErrorException",
    "Workspace",
    "__version__",
    "hookimpl",
]
