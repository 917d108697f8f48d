"""AML_API §7 items 52–54: ScriptRunConfig defaults, argv rendering, submitted run identity."""

from __future__ import annotations

import re

from aml_bridge.train import ScriptRunConfig

JOB = """\
import sys
from azureml.core import Run

run = Run.get_context()
again = Run.get_context()
run.log('argv', repr(sys.argv[1:]))
run.log('same_object', run is again)
run.complete()  # the job's own complete() must not end the run
run.log('status_after_complete', run.get_status())
"""


def test_item52_defaults():
    src = ScriptRunConfig(source_directory=".", script="t.py")
    assert src.run_config.target == "local"
    assert src.run_config.max_run_duration_seconds == 2592000
    assert src.run_config.environment.name == "default-environment"


def test_items53_54_argv_identity_and_context(exp, tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    (tmp_path / "t.py").write_text(JOB)

    run = exp.submit(ScriptRunConfig(str(tmp_path), "t.py", arguments=["--n", 5, "--flag", True]))

    assert re.fullmatch(rf"{re.escape(exp.name)}_\d{{10}}_[0-9a-f]{{8}}", run.id)
    assert run.wait_for_completion()["status"] == "Completed"
    metrics = run.get_metrics()
    assert metrics["argv"] == repr(["--n", "5", "--flag", "True"])
    assert metrics["same_object"] is True
    assert metrics["status_after_complete"] == "Running"
