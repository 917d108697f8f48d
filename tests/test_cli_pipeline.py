"""`aml-bridge pipeline validate|show|run` on small Azure-style definition files written per test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aml_bridge import Experiment, Run
from aml_bridge.cli import main
from aml_bridge.cli_pipeline import RESERVED_TASK_IDS, _param
from aml_bridge.execution import PipelineRun
from aml_bridge.pipeline import PipelinePlan

AML_BRIDGE = str(Path(sys.executable).with_name("aml-bridge"))

HEADER = """\
from azureml.core import Experiment, Workspace
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
print("definition output that must not reach stdout")
"""

# Two steps joined by a PipelineData, a parameter in the arguments, and a submit to capture.
GOOD = HEADER + """
greeting = PipelineParameter(name="greeting", default_value="hi")
times = PipelineParameter(name="times", default_value=1)
message = PipelineData("message", datastore=ws.get_default_datastore())
produce = PythonScriptStep(name="produce", script_name="produce.py", source_directory="src",
                           arguments=["--out", message, "--greeting", greeting, "--times", times],
                           outputs=[message])
consume = PythonScriptStep(name="consume", script_name="consume.py", source_directory="src",
                           arguments=["--in", message], inputs=[message], allow_reuse=False)
pipeline = Pipeline(ws, steps=[consume], description="hello pipeline")
Experiment(ws, "cli-hello").submit(pipeline, pipeline_parameters={"times": 2})
raise SystemExit("not reached: submit is captured")
"""

# Steps that need no azureml import: each costs a plain `python`, not an `import mlflow`.
PRODUCE = """\
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--greeting"); p.add_argument("--times")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "message.txt"), "w").write(" ".join([a.greeting] * int(a.times)))
"""
CONSUME = """\
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--in", dest="inp"); a = p.parse_args()
print("consumed:", open(os.path.join(a.inp, "message.txt")).read())
"""

# Azure refuses a PipelineData in `arguments` that is in neither `inputs` nor `outputs`.
NOT_IN_OUTPUTS = HEADER + """
data = PipelineData("prepared", datastore=ws.get_default_datastore())
step = PythonScriptStep(name="prepare", script_name="produce.py", source_directory="src", arguments=["--out", data])
Experiment(ws, "cli-bad").submit(Pipeline(ws, [step]))
"""

# A cycle built with run_after: the pipeline builds, `validate()` reports it. No submit here.
CYCLE = HEADER + """
a = PythonScriptStep(name="a", script_name="produce.py", source_directory="src")
b = PythonScriptStep(name="b", script_name="produce.py", source_directory="src")
a.run_after(b)
b.run_after(a)
pipeline = Pipeline(ws, [a, b])
"""

FAILING = HEADER + """
step = PythonScriptStep(name="breaks", script_name="fail.py", source_directory="src", allow_reuse=False)
Experiment(ws, "cli-fail").submit(Pipeline(ws, [step]))
"""


@pytest.fixture
def folder(tmp_path, shared_home, monkeypatch) -> Path:
    """A definition folder with step sources; the workspace is the session's store."""
    monkeypatch.setenv("AML_BRIDGE_HOME", shared_home)
    src = tmp_path / "defs" / "src"
    src.mkdir(parents=True)
    (src / "produce.py").write_text(PRODUCE)
    (src / "consume.py").write_text(CONSUME)
    (src / "fail.py").write_text("import sys\nsys.stderr.write('bad input\\n')\nsys.exit(4)\n")
    return src.parent


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_validate_ok(folder, capfd):
    assert main(["pipeline", "validate", write(folder, "good.py", GOOD)]) == 0
    out, err = capfd.readouterr()
    assert out.strip().endswith("OK (2 steps: produce, consume)")
    assert "definition output" in err and "definition output" not in out


def test_validate_names_step_and_field_of_pipeline_data_missing_from_outputs(folder, capfd):
    assert main(["pipeline", "validate", write(folder, "bad.py", NOT_IN_OUTPUTS)]) == 1
    err = capfd.readouterr().err
    assert "INVALID" in err
    assert "Step [prepare]" in err and "prepared" in err and "arguments" in err
    assert "PipelineDefinitionError" in err


def test_validate_reports_errors_of_pipeline_validate(folder, capfd):
    assert main(["pipeline", "validate", write(folder, "cycle.py", CYCLE)]) == 1
    err = capfd.readouterr().err
    assert "Cycle detected including node" in err


def test_validate_missing_file(folder, capfd):
    assert main(["pipeline", "validate", str(folder / "nope.py")]) == 1
    assert "does not exist" in capfd.readouterr().err


def test_show_prints_steps_ports_edges_and_parameters(folder, capfd):
    path = write(folder, "good.py", GOOD)
    assert main(["pipeline", "show", path]) == 0
    out = capfd.readouterr().out
    assert "definition output" not in out
    assert "experiment: cli-hello" in out and "default datastore: workspaceblobstore" in out
    assert 'greeting = "hi" (str)' in out
    assert "times = 1 (int, the definition submits 2)" in out
    assert out.index("1. produce") < out.index("2. consume")
    assert f"script: produce.py  in {folder / 'src'}" in out
    assert "arguments: --out <output message> --greeting <parameter greeting> --times <parameter times>" in out
    assert "output message -> workspaceblobstore:azureml/<step run id>/message (mount)" in out
    assert "input  message <- step produce output message (mount)" in out
    assert "upstream: produce; reuse disabled" in out
    assert "upstream: (none: starts first)" in out


def test_show_json_is_the_plan(folder, capfd):
    assert main(["pipeline", "show", "--json", write(folder, "good.py", GOOD)]) == 0
    plan = PipelinePlan.from_json(capfd.readouterr().out)  # stdout is nothing but the plan
    assert [s.task_id for s in plan.steps] == ["produce", "consume"]
    assert plan.parameters == {"greeting": "hi", "times": 1}  # defaults; submitted values are per run
    assert plan.step("consume").input("message").producer == "produce"
    assert plan.step("consume").upstream == ["produce"]


def test_show_invalid_definition_fails(folder, capfd):
    assert main(["pipeline", "show", write(folder, "bad.py", NOT_IN_OUTPUTS)]) == 1
    assert "Step [prepare]" in capfd.readouterr().err


def test_run_completes_with_parameters_from_definition_and_command_line(folder, shared_home, ws):
    """The console script, as a user runs it: a summary on stdout, Airflow's output in the log file."""
    log = folder / "logs" / "run.log"
    done = subprocess.run([AML_BRIDGE, "pipeline", "run", write(folder, "good.py", GOOD), "--param", "greeting=hello",
                           "--experiment", "cli-run", "--log-file", str(log)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "AML_BRIDGE_HOME": shared_home})
    assert done.returncode == 0, done.stdout + done.stderr + (log.read_text()[-3000:] if log.exists() else "")
    run_id = done.stdout.split()[2]
    assert done.stdout.startswith(f"Pipeline run {run_id} (cli-run): Completed\n")
    assert "  produce              Completed" in done.stdout and "/#/experiments/" in done.stdout
    assert done.stdout.rstrip().endswith(f"Full output: {log}")
    assert "DagRun Finished" in log.read_text()  # Airflow's output went to the log, not the terminal
    assert "DagRun Finished" not in done.stdout + done.stderr

    run = Run.get(ws, run_id)
    assert isinstance(run, PipelineRun)  # a registered run type; needs aml_bridge.execution imported (reported)
    assert run.experiment.name == "cli-run" and run.get_status() == "Completed"
    steps = {s.name: s for s in run.get_steps()}
    assert set(steps) == {"produce", "consume"}
    # `times` comes from the definition's submit (2), `greeting` from --param
    assert "consumed: hello hello" in steps["consume"].get_job_log()


def test_run_exit_code_is_non_zero_unless_completed(folder, capfd, ws):
    code = main(["pipeline", "run", write(folder, "fail.py", FAILING), "--log-file", str(folder / "fail.log")])
    out = capfd.readouterr().out
    assert code == 1
    assert "(cli-fail): Failed" in out and "breaks               Failed" in out
    assert "exited with status code 4" in out and "Error: bad input" in out  # the step's error, stderr tail included
    run = next(iter(Experiment(ws, "cli-fail").get_runs()))
    assert run.get_status() == "Failed"


def test_run_rejects_unknown_parameter_before_running(folder, capfd, ws):
    code = main(["pipeline", "run", write(folder, "good.py", GOOD), "--param", "nope=1", "--experiment", "cli-unknown"])
    assert code == 1
    assert "Pipeline parameter with name nope does not exist" in capfd.readouterr().err
    assert list(Experiment(ws, "cli-unknown").get_runs()) == []


def test_param_values_are_json_when_they_parse():
    assert _param("a=1") == ("a", 1)
    assert _param("a=0.5") == ("a", 0.5)
    assert _param("a=true") == ("a", True)
    assert _param('a={"k": [1]}') == ("a", {"k": [1]})
    assert _param("a=hello world") == ("a", "hello world")
    assert _param("a=x=y") == ("a", "x=y")
    with pytest.raises(SystemExit):
        main(["pipeline", "run", "x.py", "--param", "no-equals-sign"])


def test_reserved_task_ids_match_the_provider():
    from airflow_provider.operators import END_TASK_ID, START_TASK_ID

    assert RESERVED_TASK_IDS == (START_TASK_ID, END_TASK_ID)
