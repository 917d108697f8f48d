"""Published pipelines and endpoints on the embedded Airflow (`dag.test()` of the generated DAG file).

The scheduler-driven path (REST trigger, `airflow dags list`) is in tests/test_e2e_scheduler.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aml_bridge import Experiment
from aml_bridge.errors import UserErrorException
from aml_bridge.pipeline import PipelineEndpoint, PublishedPipeline
from aml_bridge.pipeline.loader import load_pipeline
from aml_bridge.pipeline.record_store import STORE_DIR


def _dags_folder() -> Path:
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder"))


@pytest.fixture(scope="module")
def published(definition):
    return load_pipeline(definition).pipeline.publish(name="greeter", description="greets", version="1.0")


def _step_metrics(pipeline_run) -> dict:
    assert pipeline_run.get_status() == "Completed"
    (step,) = pipeline_run.get_steps()
    return step.get_metrics()


def test_publish_writes_a_dag_file_and_a_record(published, module_ws, definition):
    dag_file = _dags_folder() / f"{published.dag_id}.py"
    assert f'published_dag(__file__, "{published.id}")' in dag_file.read_text()
    assert (_dags_folder() / STORE_DIR / "pipelines" / f"{published.id}.json").is_file()
    found = PublishedPipeline.get(module_ws, published.id)
    assert (found.name, found.description, found.version, found.status) == ("greeter", "greets", "1.0", "Active")
    assert found.total_run_steps == 1
    assert published.id in {p.id for p in PublishedPipeline.list(module_ws)}
    assert found.endpoint.endswith(f"/aml-bridge/pipelines/v1.0/PipelineRuns/PipelineSubmit/{published.id}")

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_file))
    assert bag.import_errors == {}
    dag = bag.dags[published.dag_id]
    assert dag.params["greeting"] == "hello" and dag.params["count"] == 1
    assert "published" in dag.tags


def test_submit_and_experiment_submit_run_with_parameters_and_tags(published, module_ws):
    run = published.submit(module_ws, "published-greeter", pipeline_parameters={"greeting": "hi"})
    assert run.experiment.name == "published-greeter"
    assert _step_metrics(run) == {"greeting": "hi", "count": 1, "team": "none"}

    run = Experiment(module_ws, "published-greeter").submit(published, tags={"team": "ml"},
                                                            pipeline_parameters={"count": 3})
    assert _step_metrics(run) == {"greeting": "hello", "count": 3, "team": "ml"}  # run.parent.get_tags()
    assert run.get_tags()["team"] == "ml"


def test_bad_submissions_name_the_field_and_start_nothing(published, module_ws):
    before = len(list(Experiment(module_ws, "published-bad").get_runs()))
    with pytest.raises(UserErrorException, match="Pipeline parameter with name gretting does not exist"):
        published.submit(module_ws, "published-bad", pipeline_parameters={"gretting": "x"})
    with pytest.raises(UserErrorException, match="Experiment name"):
        published.submit(module_ws, "bad name!")
    published.disable()
    try:
        assert PublishedPipeline.get(module_ws, published.id).status == "Disabled"
        assert published.id not in {p.id for p in PublishedPipeline.list(module_ws)}
        assert published.id in {p.id for p in PublishedPipeline.list(module_ws, active_only=False)}
        with pytest.raises(UserErrorException, match="is disabled"):
            published.submit(module_ws, "published-bad")
    finally:
        published.enable()
    assert PublishedPipeline.get(module_ws, published.id).status == "Active"
    assert len(list(Experiment(module_ws, "published-bad").get_runs())) == before == 0


def test_interactively_built_pipeline_cannot_be_published(module_ws, definition):
    pipeline = load_pipeline(definition).pipeline
    pipeline._definition_file = None
    with pytest.raises(UserErrorException, match="definition file"):
        pipeline.publish(name="nope")


def test_pipeline_endpoint_versions_and_default(published, module_ws, definition):
    endpoint = PipelineEndpoint.publish(module_ws, "greeter-endpoint", "all greeters", published)
    assert endpoint.default_version == "0" and endpoint.get_pipeline().id == published.id
    with pytest.raises(UserErrorException, match="already exists"):
        PipelineEndpoint.publish(module_ws, "greeter-endpoint", "again", published)
    second = load_pipeline(definition).pipeline.publish(name="greeter", version="2.0")
    endpoint.add_default(second)
    found = PipelineEndpoint.get(module_ws, name="greeter-endpoint")
    assert found.default_version == "1"
    assert [v["pipeline_id"] for v in found.list_versions()] == [published.id, second.id]
    assert found.endpoint.endswith(f"/PipelineEndpointSubmit/Id/{found.id}")

    run = found.submit("endpoint-greeter", pipeline_parameters={"greeting": "yo"})
    assert run._refresh().tags["aml_bridge.dag_run"].startswith(second.dag_id + "/")
    assert _step_metrics(run)["greeting"] == "yo"

    found.set_default_version("0")
    assert PipelineEndpoint.get(module_ws, id=found.id).get_pipeline().id == published.id
    with pytest.raises(UserErrorException, match="has no version 7"):
        found.set_default_version("7")
    found.disable()
    with pytest.raises(UserErrorException, match="is disabled"):
        found.submit("endpoint-greeter")
