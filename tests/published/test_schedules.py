"""Schedules of published pipelines: recurrence -> the schedule DAG's timetable; data change -> a
watcher DAG that emits its asset event once per change (run through `dag.test()`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from airflow_provider.data_schedule import WATCH_TASK_ID
from airflow_provider.timetables import AzureRecurrenceTimetable
from aml_bridge.errors import UserErrorException
from aml_bridge.pipeline import Schedule, ScheduleRecurrence
from aml_bridge.pipeline.loader import load_pipeline

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def published(definition, module_ws):
    from airflow_provider.embedded import prepare_airflow_home

    prepare_airflow_home(module_ws.config.home)  # the tests' metadata DB, migrated once: dag.test() below
    return load_pipeline(definition).pipeline.publish(name="scheduled-greeter")


def _parse(dag_id: str):
    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(conf.get("core", "dags_folder")) / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag


def _next_after(dag, after: dt.datetime) -> dt.datetime:
    info = dag.timetable.next_dagrun_info(last_automated_data_interval=DataInterval.exact(after),
                                          restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    return info.run_after


def test_recurrence_schedule_list_get_disable_enable_update(published, module_ws):
    weekly = ScheduleRecurrence("Week", 1, "2026-03-01T00:00:00", "W. Europe Standard Time", week_days=["Monday"],
                                hours=[9], minutes=[0])
    schedule = Schedule.create(module_ws, "weekly", published.id, "scheduled-greeter", recurrence=weekly,
                               pipeline_parameters={"greeting": "weekly"}, description="every Monday")
    dag = _parse(schedule.dag_id).dags[schedule.dag_id]
    assert isinstance(dag.timetable, AzureRecurrenceTimetable)
    monday_before_dst = dt.datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert _next_after(dag, monday_before_dst) == dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert dag.params["greeting"] == "weekly" and not dag.is_paused_upon_creation

    found = Schedule.get(module_ws, schedule.id)
    assert (found.name, found.status, found.pipeline_id, found.recurrence) == ("weekly", "Active", published.id, weekly)
    assert schedule.id in {s.id for s in Schedule.list(module_ws, pipeline_id=published.id)}

    schedule.disable()
    assert Schedule.get(module_ws, schedule.id).status == "Disabled"
    assert schedule.id not in {s.id for s in Schedule.list(module_ws)}
    assert _parse(schedule.dag_id).dags[schedule.dag_id].is_paused_upon_creation

    schedule.update(recurrence=ScheduleRecurrence("Hour", 6, "2026-01-01T00:00:00"), status="Active")
    dag = _parse(schedule.dag_id).dags[schedule.dag_id]
    assert _next_after(dag, dt.datetime(2026, 1, 1, 7, 0, tzinfo=UTC)) == dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert Schedule.get(module_ws, schedule.id).status == "Active"
    assert Schedule.get(module_ws, schedule.id).pipeline_parameters == {"greeting": "weekly"}


@pytest.mark.parametrize("kwargs,message", [
    ({"recurrence": ScheduleRecurrence("Day", 0)}, "interval"),
    ({"recurrence": ScheduleRecurrence("Minute", 5, hours=[1])}, "hours"),
    ({}, "exactly one of recurrence or datastore"),
    ({"recurrence": ScheduleRecurrence("Day", 1), "datastore": "workspaceblobstore"}, "exactly one"),
    ({"recurrence": ScheduleRecurrence("Day", 1), "pipeline_parameters": {"nope": 1}}, "nope does not exist"),
    ({"datastore": "workspaceblobstore", "polling_interval": 0}, "polling_interval"),
])
def test_bad_schedules_name_the_field_and_register_nothing(published, module_ws, kwargs, message):
    before = {s.id for s in Schedule.list(module_ws, active_only=False)}
    with pytest.raises(UserErrorException, match=message):
        Schedule.create(module_ws, "bad", published.id, "scheduled-greeter", **kwargs)
    assert {s.id for s in Schedule.list(module_ws, active_only=False)} == before
    with pytest.raises(UserErrorException, match="PublishedPipeline with id missing was not found"):
        Schedule.create(module_ws, "bad", "missing", "x", recurrence=ScheduleRecurrence("Day", 1))


def _watch(watcher) -> str:
    return watcher.test().get_task_instance(WATCH_TASK_ID).state


def _asset_events(dag_id: str) -> int:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(AssetEvent).filter(AssetEvent.source_dag_id == dag_id).count()


def test_data_change_schedule_fires_once_per_change(published, module_ws):
    datastore = module_ws.get_default_datastore()
    watched = Path(datastore.backend.local_path("incoming-greetings"))
    schedule = Schedule.create(module_ws, "on-data", published.id, "data-greeter", datastore=datastore,
                               path_on_datastore="incoming-greetings", polling_interval=1)
    bag = _parse(schedule.dag_id)
    pipeline_dag, watcher = bag.dags[schedule.dag_id], bag.dags[f"{schedule.dag_id}_watch"]
    asset = f"aml_bridge_schedule_{schedule.id}"
    assert pipeline_dag.timetable.asset_condition.name == asset  # the pipeline runs on the watcher's events
    assert [o.name for o in watcher.tasks[0].outlets] == [asset]

    assert _watch(watcher) == "skipped"  # nothing there yet
    watched.mkdir(parents=True, exist_ok=True)
    (watched / "a.csv").write_text("x\n1\n")
    assert _watch(watcher) == "success"  # the file appeared: one asset event
    assert _watch(watcher) == "skipped"  # no change since
    assert _asset_events(watcher.dag_id) == 1
    (watched / "a.csv").write_text("x\n2\n")
    assert _watch(watcher) == "success"
    assert _asset_events(watcher.dag_id) == 2


def test_data_path_parameter_name_is_refused(published, module_ws):
    with pytest.raises(UserErrorException, match="data_path_parameter_name"):
        Schedule.create(module_ws, "bad", published.id, "x", datastore="workspaceblobstore",
                        data_path_parameter_name="input_path")


def test_schedule_dag_runs_with_the_schedules_experiment_and_parameters(published, module_ws):
    schedule = Schedule.create(module_ws, "hourly", published.id, "hourly-greeter",
                               recurrence=ScheduleRecurrence("Hour", 1), pipeline_parameters={"greeting": "tick"})
    assert schedule.get_last_pipeline_run() is None
    _parse(schedule.dag_id).dags[schedule.dag_id].test()  # what the scheduler starts at a fire time
    run = schedule.get_last_pipeline_run()
    assert run.experiment.name == "hourly-greeter" and run.get_status() == "Completed"
    (step,) = run.get_steps()
    assert step.get_metrics()["greeting"] == "tick"
    assert [r.id for r in schedule.get_pipeline_runs()] == [run.id]


def test_endpoint_schedule_follows_the_default_version(published, module_ws, definition):
    from aml_bridge.pipeline import PipelineEndpoint

    endpoint = PipelineEndpoint.publish(module_ws, "scheduled-endpoint", "versions", published)
    schedule = Schedule.create_for_pipeline_endpoint(module_ws, "endpoint-daily", endpoint.id, "endpoint-greeter",
                                                     recurrence=ScheduleRecurrence("Day", 1))
    assert schedule.pipeline_endpoint_id == endpoint.id
    assert [s.id for s in Schedule.list(module_ws, pipeline_endpoint_id=endpoint.id)] == [schedule.id]

    def built_from() -> str:
        dag = _parse(schedule.dag_id).dags[schedule.dag_id]
        return dag.get_task("aml_pipeline_start").pipeline["published_pipeline_id"]

    assert built_from() == published.id
    newer = load_pipeline(definition).pipeline.publish(name="scheduled-greeter", version="2")
    endpoint.add_default(newer)
    assert built_from() == newer.id  # the next parse picks up the new default
