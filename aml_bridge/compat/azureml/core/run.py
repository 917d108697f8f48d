from aml_bridge.offline import _OfflineRun
from aml_bridge.run import Run
from aml_bridge.submitted import _SubmittedRun

__all__ = ["Run", "_OfflineRun", "_SubmittedRun"]
