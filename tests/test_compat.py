"""The `azureml` compat package: idioms work in a launched process, and nothing leaks globally."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import aml_bridge.compat
import aml_bridge.errors

SCRIPTS = Path(__file__).parent / "scripts"


def _run_with_compat(code_or_script: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": aml_bridge.compat.path(), "AML_BRIDGE_HOME": str(home)}
    return subprocess.run([sys.executable, *code_or_script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_idioms_around_real_scripts_work(tmp_path):
    done = _run_with_compat([str(SCRIPTS / "compat_idioms.py")], tmp_path, tmp_path / "home")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("COMPAT OK")
    assert "SDK version: 1.61.0" in done.stdout
    assert "RunDetails: OfflineRun_" in done.stdout
    assert 'Provisioning operation finished, operation "Succeeded"' in done.stdout


def test_every_aml_bridge_exception_is_in_azureml_exceptions_and_core_imports_cheaply(tmp_path):
    names = ",".join(aml_bridge.errors.__all__)
    code = (
        "import sys, azureml.core, azureml.exceptions as x, aml_bridge.errors as e\n"
        f"assert all(getattr(x, n) is getattr(e, n) for n in '{names}'.split(','))\n"
        "assert not any(m in sys.modules for m in ('mlflow', 'airflow', 'boto3')), 'azureml.core must stay light'\n"
        "from azureml.core import Dataset, Datastore\n"
        "import aml_bridge.data as d\n"
        "assert Dataset is d.Dataset and Datastore is d.Datastore\n"
        "from azureml.core.run import Run, _OfflineRun, _SubmittedRun\n"
        "from azureml.core.script_run_config import ScriptRunConfig\n"
        "from azureml.core.environment import Environment, DEFAULT_CPU_IMAGE\n"
        "from azureml.core.experiment import Experiment\n"
        "from azureml.core.workspace import Workspace\n"
        "from azureml.core.model import Model\n"
        "from azureml.core.compute import ComputeInstance\n"
        "print('ok')\n"
    )
    done = _run_with_compat(["-c", code], tmp_path, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_azureml_is_not_importable_without_the_compat_path():
    assert importlib.util.find_spec("azureml") is None
    assert aml_bridge.compat.path() not in sys.path
    assert os.path.isfile(os.path.join(aml_bridge.compat.path(), "azureml", "core", "__init__.py"))


def test_run_details_shows_the_mlflow_link_of_a_real_run(exp, capsys):
    path = os.path.join(aml_bridge.compat.path(), "azureml", "widgets", "__init__.py")
    spec = importlib.util.spec_from_file_location("_compat_widgets", path)
    widgets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(widgets)  # loaded by path: `azureml` stays unimportable here
    run = exp.start_logging(snapshot_directory=None)

    widgets.RunDetails(run).show()

    assert capsys.readouterr().out.strip() == f"RunDetails: {run.id} {run.get_portal_url()}"
