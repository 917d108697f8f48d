"""The provider's Airflow plugin (declared in `get_provider_info()["plugins"]`).

It registers the Azure recurrence timetable (the scheduler must deserialize schedule DAGs) and
mounts the published-pipeline REST trigger on the API server under `/aml-bridge`. Every Airflow
process loads plugins, so the FastAPI app is built on its first request, in the API server only.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from .pipeline_service import URL_PREFIX
from .timetables import AzureRecurrenceTimetable


class _RestTriggerApp:
    """ASGI app that builds the real one (rest_trigger.build_app) when the first request arrives."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from .rest_trigger import build_app

            self._app = build_app()
        await self._app(scope, receive, send)


class AmlBridgePlugin(AirflowPlugin):
    name = "aml_bridge"
    timetables = [AzureRecurrenceTimetable]
    fastapi_apps = [{"app": _RestTriggerApp(), "url_prefix": URL_PREFIX,
                     "name": "aml-bridge published pipeline REST trigger"}]
