"""The `aml_pipeline_service` seam: a plugin's service wins over the Airflow provider's fallback."""

from __future__ import annotations

import pytest

from aml_bridge import Experiment, hookimpl
from aml_bridge.errors import UserErrorException
from aml_bridge.pipeline import PublishedPipeline
from aml_bridge.pipeline.loader import load_pipeline
from aml_bridge.plugins import build_plugin_manager, set_plugin_manager


class MemoryService:
    """Keeps records in dicts and answers submissions with the body it got."""

    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, dict]] = {"pipelines": {}, "endpoints": {}, "schedules": {}}
        self.published, self.submitted, self.paused = [], [], {}

    def publish(self, pipeline, record):
        self.published.append(pipeline)
        self.save("pipelines", record)

    def records(self, kind):
        return list(self.kinds[kind].values())

    def save(self, kind, record):
        self.kinds[kind][record["id"]] = dict(record)

    def write_schedule(self, record, pipeline):
        pass

    def set_paused(self, dag_id, paused):
        self.paused[dag_id] = paused

    def submit(self, record, body):
        self.submitted.append((record["id"], body))
        return "remote-run"

    def endpoint_url(self, kind, record_id):
        return f"https://pipelines.example/{kind}/{record_id}"


def test_hook_aml_pipeline_service(definition):
    service = MemoryService()

    class Plugin:
        @hookimpl(tryfirst=True)
        def aml_pipeline_service(self, workspace):
            return service

    pm = build_plugin_manager()
    pm.register(Plugin())
    set_plugin_manager(pm)
    try:
        pipeline = load_pipeline(definition).pipeline
        published = pipeline.publish(name="via-hook", version="9")
        assert service.published == [pipeline]
        assert published.endpoint == f"https://pipelines.example/pipelines/{published.id}"
        ws = pipeline.workspace
        assert [p.id for p in PublishedPipeline.list(ws)] == [published.id]
        result = Experiment(ws, "hooked").submit(published, tags={"team": "ml"}, pipeline_parameters={"count": 2})
        assert result == "remote-run"
        assert service.submitted == [(published.id, {"ExperimentName": "hooked", "ParameterAssignments": {"count": 2},
                                                     "Tags": {"team": "ml"}})]
        with pytest.raises(UserErrorException, match="Pipeline parameter with name nope does not exist"):
            published.submit(ws, "hooked", pipeline_parameters={"nope": 1})
        published.disable()
        assert service.paused == {published.dag_id: True}
        assert len(service.submitted) == 1
    finally:
        set_plugin_manager(None)
