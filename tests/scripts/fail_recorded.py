"""Records its own error with run.fail(), then re-raises (a common Azure idiom)."""

from azureml.core import Run

run = Run.get_context()
try:
    raise RuntimeError("validation AUC 0.41 is below the 0.6 threshold")
except RuntimeError as exc:
    run.fail(error_details=exc)
    raise
