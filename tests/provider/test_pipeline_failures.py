"""Failure paths through `dag.test()`: a failing step, continue_on_step_failure (item 65),
a retried task keeping its run, and `run.parent.cancel()` from inside a step."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from aml_bridge import Experiment, Run
from aml_bridge.pipeline import Pipeline, PythonScriptStep
from tests.provider.helpers import script, side_effects


@pytest.fixture
def failing(tmp_path):
    log = tmp_path / "executions.log"
    src = tmp_path / "src"
    script(src, "a_fail.py", """
        print("about to fail", flush=True)
        sys.stderr.write("boom: the data is bad\\n")
        sys.exit(3)
    """)
    for name in ("q_ok", "z_ok"):
        script(src, f"{name}.py", f"""
            open({str(log)!r}, "a").write("{name}\\n")
        """)
    fail, q_ok, z_ok = (PythonScriptStep(f"{n}.py", source_directory=str(src), allow_reuse=False)
                        for n in ("a_fail", "q_ok", "z_ok"))
    # z_ok depends only on q_ok, never on a_fail; it becomes ready after both first-wave steps ended,
    # so with continue_on_step_failure=False it is a step that must not start.
    z_ok.run_after(q_ok)
    return (fail, z_ok), log


def test_failure_stops_new_steps(ws, failing):
    (fail, ok), log = failing
    run = Experiment(ws, "fail-stop").submit(Pipeline(ws, [fail, ok]))
    assert run.get_status() == "Failed"
    assert "z_ok" not in side_effects(log)  # the independent step never started
    steps = {s.name: s for s in run.get_steps()}
    assert "z_ok.py" not in steps
    failed = steps["a_fail.py"]
    assert failed.get_status() == "Failed"
    message = failed.get_details()["error"]["error"]["message"]
    assert "boom: the data is bad" in message and "exit" in message.lower()
    assert "a_fail.py" in run.get_details()["error"]["error"]["message"]
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"


def test_continue_on_step_failure_lets_branches_finish(ws, failing):
    (fail, ok), log = failing
    run = Experiment(ws, "fail-continue").submit(Pipeline(ws, [fail, ok]), continue_on_step_failure=True)
    assert run.get_status() == "Failed"
    assert sorted(side_effects(log)) == ["q_ok", "z_ok"]
    assert {s.name: s.get_status() for s in run.get_steps()} == {
        "a_fail.py": "Failed", "q_ok.py": "Completed", "z_ok.py": "Completed"}


def test_parent_cancel_stops_the_pipeline(ws, tmp_path):
    src = tmp_path / "src"
    log = tmp_path / "executions.log"
    script(src, "first.py", "run.parent.cancel()\n")
    script(src, "second.py", f"open({str(log)!r}, 'a').write('second\\n')\n")
    first = PythonScriptStep("first.py", source_directory=str(src), allow_reuse=False)
    second = PythonScriptStep("second.py", source_directory=str(src), allow_reuse=False)
    second.run_after(first)
    run = Experiment(ws, "cancel-inside").submit(Pipeline(ws, [second]))
    assert run.get_status() == "Canceled"
    assert side_effects(log) == []
    assert [s.name for s in run.get_steps()] == ["first.py"]


def test_retry_reattaches_to_the_same_run(ws, tmp_path):
    """First try fails, the retry succeeds: one step run, its try recorded, no duplicate."""
    from airflow_provider.dag_builder import plan_dag
    from airflow_provider.embedded import find_pipeline_run, generate_dag_file, prepare_airflow_home
    from airflow_provider.operators import END_TASK_ID, START_TASK_ID, pipeline_settings

    src = tmp_path / "src"
    marker = tmp_path / "tried"
    script(src, "flaky.py", f"""
        if not os.path.exists({str(marker)!r}):
            open({str(marker)!r}, "w").write("1")
            sys.exit("first try fails")
        run.log("attempt_ok", 1)
    """)
    pipeline = Pipeline(ws, [PythonScriptStep("flaky.py", source_directory=str(src), allow_reuse=False)])
    prepare_airflow_home(ws.config.home)
    plan = pipeline.plan(reserved_task_ids=(START_TASK_ID, END_TASK_ID))
    settings = pipeline_settings(ws, plan, "retry", False, False)
    dag_file = generate_dag_file(plan, settings, "retry")
    dag_file.write_text(dag_file.read_text().replace(
        '".json")', '".json", default_args={"retries": 1, "retry_delay": __import__("datetime").timedelta(0)})'))
    dag = plan_dag(plan, settings, "retry", default_args={"retries": 1, "retry_delay": timedelta(0)})
    dag_run = dag.test()
    pipeline_run = find_pipeline_run(ws, "retry", "retry", dag_run.run_id)
    steps = list(pipeline_run.get_steps())
    assert len(steps) == 1
    step = steps[0]
    assert step.get_status() == "Completed" and step.get_metrics() == {"attempt_ok": 1}
    assert step.get_tags()["airflow.try_number"] == "2"
    assert step._refresh().tags["aml_bridge.try_number"] == "2"
    assert {"user_logs/std_log.txt", "user_logs/std_log_2.txt"} <= set(step.get_file_names())
    assert pipeline_run.get_status() == "Completed"
    assert json.loads(Run.get(ws, step.id)._refresh().tags["aml_bridge.outputs"]) == {}
