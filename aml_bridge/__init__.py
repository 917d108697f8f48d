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

# Pipeline, data and parallel names load on first use, so `import aml_bridge` (which every
# training script pays) stays as light as the Run API needs.
_LAZY = {
    **dict.fromkeys(["Pipeline", "PipelineData", "PipelineParameter", "PythonScriptStep", "StepSequence",
                     "PublishedPipeline", "PipelineEndpoint", "Schedule", "ScheduleRecurrence", "TimeZone"],
                    "aml_bridge.pipeline"),
    **dict.fromkeys(["DataPath", "DataPathComputeBinding", "DataReference", "Dataset", "Datastore",
                     "OutputFileDatasetConfig"], "aml_bridge.data"),
    **dict.fromkeys(["PipelineRun", "StepRun"], "aml_bridge.execution.runs"),
    **dict.fromkeys(["ParallelRunConfig", "ParallelRunStep"], "aml_bridge.parallel"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aml_bridge' has no attribute {name!r}")

__all__ = [
    *_LAZY,
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
