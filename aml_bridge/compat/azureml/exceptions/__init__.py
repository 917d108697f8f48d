"""`azureml.exceptions`: every exception class of aml-bridge, under Azure's names."""

from aml_bridge.errors import *  # noqa: F403
from aml_bridge.errors import __all__  # noqa: F401
