"""`azureml.widgets`: `RunDetails(run).show()` prints where to watch the run (the MLflow UI)."""

from typing import Any


class RunDetails:
    """Azure's notebook widget; here `show()` prints the run's MLflow link instead of drawing."""

    def __init__(self, run_instance: Any) -> None:
        self.run_instance = run_instance

    def show(self) -> None:
        url = getattr(self.run_instance, "get_portal_url", None)
        where = url() if callable(url) else "(offline run: nothing is tracked)"
        print(f"RunDetails: {getattr(self.run_instance, 'id', '')} {where}")

    def get_widget_data(self, widget_settings: Any = None) -> dict[str, Any]:
        return {}


__all__ = ["RunDetails"]
