"""`aml-bridge run` / `runs show` / `runs list`, including the unchanged-script acceptance test."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from aml_bridge import Experiment, Run
from aml_bridge.cli import experiment_name_for, main, new_run_id

SCRIPTS = Path(__file__).parent / "scripts"
AML_BRIDGE = str(Path(sys.executable).with_name("aml-bridge"))


@pytest.fixture
def home(ws, shared_home, monkeypatch) -> str:
    """Commands (in this process or a child) resolve the test workspace's store."""
    monkeypatch.setenv("AML_BRIDGE_HOME", shared_home)
    return shared_home


def _run_id(stdout: str) -> str:
    return re.search(r"^RunId: (\S+)$", stdout, re.M).group(1)


def test_unchanged_azure_script_is_readable_through_mlflow_and_azure_api(ws, home):
    done = subprocess.run([AML_BRIDGE, "run", str(SCRIPTS / "azure_train.py"), "--alpha", "0.25", "--epochs", "3",
                           "--experiment", "unchanged"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout)
    assert re.fullmatch(r"unchanged_\d{10}_[0-9a-f]{8}", run_id)
    assert "Status: Completed" in done.stdout and "/#/experiments/" in done.stdout
    assert f"mlflow ui --backend-store-uri {ws.config.tracking_uri}" in done.stdout
    assert "registered 1 ridge-demo" in done.stdout

    run = Run.get(ws, run_id)
    assert run.get_status() == "Completed" and run.type == "azureml.scriptrun"
    metrics = run.get_metrics()
    assert metrics["alpha"] == 0.25
    assert metrics["loss"] == [1.0, 0.5, 1 / 3]
    assert metrics["epochs"] == 3 and type(metrics["epochs"]) is int
    assert metrics["best_model"] == "ridge"
    assert metrics["accuracies"] == [0.8, 0.85, 0.9]
    assert metrics["per_class"] == {"cls": ["a", "b"], "precision": [0.9, 0.7]}
    assert metrics["coefficients"] == {"feature": ["x1", "x2"], "weight": [0.5, -1.25]}
    uri = f"aml://artifactId/ExperimentRun/dcid.{run_id}/"
    assert metrics["curve"].startswith(uri + "curve_") and metrics["confusion"] == uri + "confusion"
    assert run.get_tags() == {"framework": "numpy", "quick": ""}
    assert run.get_properties()["dataset"] == "synthetic-v1"
    files = run.get_file_names()
    for name in ("model/model.json", "outputs/model.json", "user_logs/std_log.txt", "confusion", "confusion.png"):
        assert name in files
    (child,) = run.get_children()
    assert child.get_metrics() == {"fold_score": 0.75}

    client = MlflowClient(ws.config.tracking_uri)
    data = client.get_run(run._backend_id).data
    assert data.metrics["alpha"] == 0.25 and data.metrics["epochs"] == 3.0
    assert [m.value for m in client.get_metric_history(run._backend_id, "loss")] == [1.0, 0.5, 1 / 3]
    assert data.tags["framework"] == "numpy" and data.tags["quick"] == ""
    assert data.params["dataset"] == "synthetic-v1"
    artifacts = {a.path for a in client.list_artifacts(run._backend_id)}
    assert {"outputs", "model", "user_logs", "confusion", "confusion.png"} <= artifacts
    assert client.get_run(child._backend_id).data.tags["mlflow.parentRunId"] == run._backend_id
    (version,) = client.search_model_versions("name='ridge-demo'")
    assert version.run_id == run._backend_id and version.tags["alpha"] == "0.25"


def test_sigterm_to_the_cli_is_forwarded_and_cancels_the_run(ws, home, tmp_path):
    proc = subprocess.Popen([AML_BRIDGE, "run", str(SCRIPTS / "log_and_wait.py")], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.time() + 120
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("LOGGED") or time.time() > deadline:
            proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM

    run = Run.get(ws, _run_id("".join(lines)))
    assert run.get_status() == "Canceled"
    assert run.get_metrics()["loss"] == list(range(10000))


def test_crash_propagates_the_exit_code_and_fails_the_run(ws, home, capsys):
    code = main(["run", str(SCRIPTS / "crash.py")])

    out = capsys.readouterr().out
    assert code == 1 and "starting training" in out
    run = Run.get(ws, _run_id(out))
    assert run.experiment.name == "crash" and run.get_status() == "Failed"
    message = run.get_details()["error"]["error"]["message"]
    assert "ValueError: learning rate must be positive, got -1.0" in message

    assert main(["runs", "show", run.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "Failed" and "learning rate" in shown["error"]["error"]["message"]
    assert "user_logs/std_log.txt" in shown["files"]


def test_missing_script_is_refused_before_a_run_exists(ws, home, capsys):
    assert main(["run", "no_such_script.py"]) == 2
    assert "no such script" in capsys.readouterr().err
    assert not list(Experiment(ws, "no_such_script").get_runs())


def test_runs_show_prints_collapsed_metrics(ws, home, exp, capsys):
    run = exp.start_logging(snapshot_directory=None)
    run.log("acc", 0.5)
    run.log("acc", 0.75)
    run.log("epochs", 7)
    run.log_row("table", a=1, b="x")
    run.tag("team", "vision")
    run.complete()

    assert main(["runs", "show", run.id]) == 0
    out = capsys.readouterr().out
    assert f"Run {run.id} ({exp.name}): Completed" in out
    assert re.search(r"^acc\s+\[0.5, 0.75\]$", out, re.M)
    assert re.search(r"^epochs\s+7$", out, re.M)
    assert re.search(r'^table\s+\{"a": 1, "b": "x"\}$', out, re.M)

    assert main(["runs", "show", run.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metrics"] == {"acc": [0.5, 0.75], "epochs": 7, "table": {"a": 1, "b": "x"}}
    assert shown["tags"] == {"team": "vision"} and shown["id"] == run.id and shown["status"] == "Completed"


def test_runs_list_newest_first(ws, home, exp, capsys):
    first = exp.start_logging(snapshot_directory=None)
    first.complete()
    second = exp.start_logging(snapshot_directory=None)

    assert main(["runs", "list", "--experiment", exp.name, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"]) for r in listed] == [(second.id, "Running"), (first.id, "Completed")]

    assert main(["runs", "list", "--experiment", exp.name]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["run", "id", "experiment", "status", "type", "started"]
    assert out[2].startswith(second.id) and out[3].startswith(first.id)
    assert main(["runs", "list", "--limit", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_script_flags_pass_through_and_names_follow_azure():
    from aml_bridge.cli import parse_args

    def parsed(*argv: str) -> tuple:
        args = parse_args(["run", *argv])
        return args.experiment, args.script, args.args

    assert parsed("-e", "x", "train.py", "--lr", "0.1") == ("x", "train.py", ["--lr", "0.1"])
    assert parsed("train.py", "--C", "0.5", "--experiment", "iris") == ("iris", "train.py", ["--C", "0.5"])
    assert parsed("train.py", "--experiment=iris", "--", "--experiment", "theirs", "--") == (
        "iris", "train.py", ["--experiment", "theirs", "--"])
    assert parsed("train.py", "--", "--C", "1") == (None, "train.py", ["--C", "1"])
    assert experiment_name_for("src/03-train model.v2.py") == "03-train_model_v2"
    assert experiment_name_for("__main__.py") == "main__"
    assert re.fullmatch(r"exp-1_\d{10}_[0-9a-f]{8}", new_run_id("exp-1"))
