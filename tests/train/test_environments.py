"""Isolated environments: a real venv built with pip from the package index, once per requirement set.

Requirements the host already satisfies (joblib here) are taken from it, not installed again.
`toolz` is not installed in the test environment (asserted), so a run that imports it proves the
job ran in the built venv; aml-bridge and MLflow still import there (the host overlay).
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys

import pytest

from aml_bridge import Experiment, Workspace, settings
from aml_bridge.errors import UserErrorException
from aml_bridge.launcher import LOG_ARTIFACT, launch
from aml_bridge.train import CondaDependencies, Environment, ScriptRunConfig
from aml_bridge.train.environments import interpreter_for, requirements_of
from aml_bridge.train.job import JobSpec

JOB = """\
import sys, joblib, toolz
from azureml.core import Run
Run.get_context().log('toolz', toolz.__version__)
Run.get_context().log('joblib_from', joblib.__file__)
Run.get_context().log('python', sys.executable)
"""


def _log(run, tmp_path) -> str:
    target = tmp_path / f"{run.id}.txt"
    run.download_file(LOG_ARTIFACT, str(target))
    return target.read_text()


def test_two_concurrent_first_runs_build_once_and_later_runs_reuse(tmp_path, monkeypatch):
    assert importlib.util.find_spec("toolz") is None, "the test needs a package the host does not have"
    monkeypatch.setenv("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    home = tmp_path / "home"
    monkeypatch.setenv("AML_BRIDGE_HOME", str(home))  # the detached jobs resolve the same store
    exp = Experiment(Workspace(config=settings.resolve(home=str(home))), "isolated")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "job.py").write_text(JOB)
    (tmp_path / "requirements.txt").write_text("toolz==1.2.0\njoblib\n")  # joblib: the host has it
    env = Environment.from_pip_requirements("with-toolz", str(tmp_path / "requirements.txt"))
    config = ScriptRunConfig(str(tmp_path / "src"), "job.py", environment=env)

    first = [exp.submit(config), exp.submit(config)]  # both start before either has built anything
    for run in first:
        assert run.wait_for_completion()["status"] == "Completed", _log(run, tmp_path)
    later = exp.submit(config)
    assert later.wait_for_completion()["status"] == "Completed"

    logs = [_log(run, tmp_path) for run in [*first, later]]
    built = [log for log in logs if "Built environment 'with-toolz'" in log]
    assert len(built) == 1, logs
    assert sum("Reusing environment 'with-toolz'" in log for log in logs) == 2
    for run in [*first, later]:
        metrics = run.get_metrics()
        assert metrics["toolz"] == "1.2.0" and metrics["python"].startswith(str(home / "envs"))
        assert not metrics["joblib_from"].startswith(str(home / "envs"))  # satisfied by the host: not installed
    build_s = float(re.search(r"Built environment 'with-toolz' in ([\d.]+) s", built[0]).group(1))
    reuse_ms = float(re.search(r"Reusing environment 'with-toolz' from \S+ \(([\d.]+) ms\)", logs[-1]).group(1))
    print(f"\nenvironment build {build_s:.2f} s, reuse {reuse_ms:.1f} ms")


def test_packages_aml_bridge_provides_or_nobody_asked_for_need_no_venv(tmp_path):
    default = Environment("default-environment")  # python pin + azureml-defaults only
    assert requirements_of(default) == ([], [])
    assert interpreter_for(default._to_dict(), str(tmp_path)) == sys.executable
    managed = Environment("mine")
    managed.python.user_managed_dependencies = True
    managed.python.interpreter_path = "/opt/python/bin/python3"
    assert interpreter_for(managed._to_dict(), str(tmp_path)) == "/opt/python/bin/python3"
    cd = CondaDependencies.create(conda_packages=["numpy=1.23", "scikit-learn>=1.1"], pip_packages=["azureml-core",
                                                                                                   "toolz"])
    env = Environment("conda")
    env.python.conda_dependencies = cd
    assert requirements_of(env) == (["numpy==1.23.*", "scikit-learn>=1.1", "toolz"], [])


def test_requirements_the_host_satisfies_need_no_venv(tmp_path):
    """Azure definitions list unpinned scikit-learn/pandas: the host's versions serve, nothing is built."""
    env = Environment("host-has-it")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["joblib", "pandas>=1.0"])
    assert interpreter_for(env._to_dict(), str(tmp_path)) == sys.executable
    assert not (tmp_path / "envs").exists()
    from aml_bridge.train.environments import host_satisfies

    assert not host_satisfies("pandas==0.1") and host_satisfies("pandas") and not host_satisfies("toolz")


def test_conda_only_packages_fail_the_run_naming_them(ws, tmp_path):
    env = Environment("needs-conda")
    env.python.conda_dependencies = CondaDependencies.create(conda_packages=["conda-forge::cudatoolkit",
                                                                             "mkl=2020.2=256", "numpy"])
    with pytest.raises(UserErrorException, match=r"conda-forge::cudatoolkit', 'mkl=2020.2=256'\]"):
        requirements_of(env)
    from aml_bridge import Run

    run = Run._create(Experiment(ws, "conda_only"), run_type="azureml.scriptrun", target="local")
    code = launch(run, [sys.executable, "x.py"], str(tmp_path), stream=io.StringIO(),
                  job=JobSpec(environment=env._to_dict()))
    assert code == 1 and run.get_status() == "Failed"
    message = run.get_details()["error"]["error"]["message"]
    assert "conda-forge::cudatoolkit" in message and "mkl=2020.2=256" in message and "numpy'" not in message
