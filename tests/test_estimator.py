"""Estimator (AML_API §2.5): argv flattening, Azure's validations, and a real local submit.

Checklist items 55 and 56; the §2.5 argv table as a parametrized test; every invalid
combination raises `TrainingException` naming the arguments.
"""

from __future__ import annotations

import re

import pytest

from aml_bridge.data import DataPath
from aml_bridge.errors import TrainingException, UserErrorException
from aml_bridge.train import (
    DEFAULT_GPU_IMAGE,
    Environment,
    Estimator,
    Gloo,
    Mpi,
    MpiConfiguration,
    ParameterServer,
)
from aml_bridge.train.submit import _job_argv


def _argv(**script_params_and_kwargs) -> list[str]:
    est = Estimator(".", compute_target="local", entry_script="train.py", **script_params_and_kwargs)
    return _job_argv(est)[2:]  # after `train.py --`


# §2.5 script_params -> argv, rendered with str() as every argument is (§2.2)
ARGV_TABLE = [
    ({"--lr": 0.01}, ["--lr", "0.01"]),
    ({"--flag": ""}, ["--flag"]),                      # "" value dropped: a bare flag
    ({"--none": None}, ["--none"]),                    # None value dropped
    ({"--zero": 0, "--off": False}, ["--zero", "0", "--off", "False"]),  # 0 and False are kept
    ({"--b": True}, ["--b", "True"]),
    ({"--list": [1, "a", (2, 3)]}, ["--list", "1", "a", "(2, 3)"]),  # spliced; nested iterables str()-ed
    ({"--list": [1, None, ""]}, ["--list", "1"]),      # None/"" inside a list vanish too
    ({"positional": "x", "--n": 5}, ["positional", "x", "--n", "5"]),  # insertion order
    ({"--lr": 0.01, "--flag": "", "--none": None, "--zero": 0, "--list": [1, "a", (2, 3)], "--b": True},
     ["--lr", "0.01", "--flag", "--none", "--zero", "0", "--list", "1", "a", "(2, 3)", "--b", "True"]),
]


@pytest.mark.parametrize(("script_params", "argv"), ARGV_TABLE, ids=[str(i) for i in range(len(ARGV_TABLE))])
def test_script_params_argv_table(script_params, argv):
    assert _argv(script_params=script_params) == argv


def test_item_55_keys_survive_as_bare_flags():
    est = Estimator(".", compute_target="local", entry_script="t.py",
                    script_params={"--lr": 0.01, "--flag": "", "--x": None, "--zero": 0, "--list": [1, "a"]})
    assert est.run_config.arguments == ["--lr", 0.01, "--flag", "--x", "--zero", 0, "--list", 1, "a"]
    assert _job_argv(est)[2:] == ["--lr", "0.01", "--flag", "--x", "--zero", "0", "--list", "1", "a"]


def test_data_references_become_placeholders():
    from aml_bridge.data.datapath import DataPathComputeBinding

    ref = DataPath("workspaceblobstore", "raw").create_data_reference("raw_data", DataPathComputeBinding("mount"))
    est = Estimator(".", compute_target="local", entry_script="t.py", script_params={"--data": ref})
    assert est.run_config.arguments == ["--data", "$AZUREML_DATAREFERENCE_raw_data"]
    with pytest.raises(UserErrorException, match="cannot mount"):  # not silently passed on as text
        _job_argv(est)


def test_item_56_and_every_invalid_combination_names_its_arguments(tmp_path):
    conda = tmp_path / "env.yml"
    conda.write_text("name: x\ndependencies:\n  - python=3.11\n")
    local = {"compute_target": "local", "entry_script": "t.py"}
    invalid = [
        (dict(entry_script="t.py"), ["compute_target", "vm_size"]),
        (dict(local, node_count=0), ["node_count"]),
        (dict(local, process_count_per_node=0), ["process_count_per_node"]),
        (dict(compute_target="cluster", entry_script="t.py", node_count=2), ["node_count", "distributed_training"]),
        (dict(local, process_count_per_node=2), ["process_count_per_node", "distributed_training"]),
        (dict(local, node_count=2, distributed_training=Mpi()), ["node_count", "compute_target"]),
        (dict(local, distributed_backend="mpi", distributed_training=Mpi()),
         ["distributed_backend", "distributed_training"]),
        (dict(local, distributed_backend="horovod"), ["distributed_backend"]),
        (dict(local, custom_docker_image="a", custom_docker_base_image="b"),
         ["custom_docker_image", "custom_docker_base_image"]),
        (dict(local, use_docker=False, custom_docker_image="a"), ["use_docker", "custom_docker_image"]),
        (dict(local, conda_dependencies_file=str(conda), pip_packages=["x"]), ["conda_dependencies_file", "pip_packages"]),
        (dict(local, conda_dependencies_file=str(conda), conda_packages=["x"]),
         ["conda_dependencies_file", "conda_packages"]),
        (dict(local, conda_dependencies_file=str(conda), pip_requirements_file="r.txt"),
         ["conda_dependencies_file", "pip_requirements_file"]),
        (dict(local, conda_dependencies_file=str(conda), conda_dependencies_file_path=str(conda)),
         ["conda_dependencies_file", "conda_dependencies_file_path"]),
        (dict(local, user_managed=True, pip_packages=["x"]), ["user_managed", "pip_packages"]),
        (dict(local, user_managed=True, conda_packages=["x"]), ["user_managed", "conda_packages"]),
        (dict(local, resume_from="outputs/ckpt"), ["resume_from", "DataPath"]),
    ]
    for name in ("use_gpu", "custom_docker_image", "user_managed", "pip_packages", "conda_packages",
                 "environment_variables", "shm_size", "use_docker", "pip_requirements_file"):
        value = {"use_gpu": True, "user_managed": True, "use_docker": False, "environment_variables": {"A": "1"},
                 "shm_size": "8g", "pip_packages": ["x"], "conda_packages": ["x"]}.get(name, "x")
        invalid.append((dict(local, environment_definition=Environment("e"), **{name: value}),
                        ["environment_definition", name]))
    for kwargs, names in invalid:
        with pytest.raises(TrainingException) as raised:
            Estimator(".", **kwargs)
        for name in names:
            assert name in str(raised.value), (kwargs, str(raised.value))


def test_valid_arguments_map_onto_the_run_config(tmp_path, caplog):
    (tmp_path / "requirements.txt").write_text("toolz==1.2.0\n")
    est = Estimator(str(tmp_path), vm_size="STANDARD_NC6", entry_script="t.py", use_gpu=True, shm_size="4g",
                    pip_packages=["pandas"], pip_requirements_file="requirements.txt", environment_variables={"A": "1"},
                    node_count=2, process_count_per_node=3, distributed_training=Gloo(), max_run_duration_seconds=60)
    rc = est.run_config
    assert "deprecated" in caplog.text
    assert (rc.target, rc.amlcompute.vm_size, rc.node_count) == ("amlcompute", "STANDARD_NC6", 2)
    assert (rc.framework, rc.communicator, rc.pytorch.process_count) == ("PyTorch", "Gloo", 6)
    assert rc.max_run_duration_seconds == 60 and rc.environment_variables == {"A": "1"}
    assert rc.environment.docker.base_image == DEFAULT_GPU_IMAGE and rc.environment.docker.shm_size == "4g"
    assert rc.docker.shm_size == "4g" and rc.docker.use_docker is True
    assert rc.environment.python.conda_dependencies.pip_packages[1:] == ["pandas", "toolz==1.2.0"]

    mpi = Estimator(".", compute_target="local", entry_script="t.py", distributed_training=Mpi(process_count_per_node=4))
    assert (mpi.run_config.communicator, mpi.run_config.mpi.process_count_per_node) == ("Mpi", 4)
    legacy = Estimator(".", compute_target="local", entry_script="t.py", distributed_backend="mpi",
                       process_count_per_node=2)
    assert (legacy.run_config.communicator, legacy.run_config.mpi.process_count_per_node) == ("IntelMpi", 2)
    intel = Estimator(".", compute_target="local", entry_script="t.py", distributed_training=MpiConfiguration(2))
    assert intel.run_config.communicator == "IntelMpi"
    tf = Estimator(".", compute_target="local", entry_script="t.py", distributed_training=ParameterServer(2, 1))
    assert (tf.run_config.framework, tf.run_config.communicator) == ("TensorFlow", "ParameterServer")

    env = Environment("mine")
    assert Estimator(".", compute_target="local", entry_script="t.py", environment_definition=env).run_config \
        .environment is env
    managed = Estimator(".", compute_target="local", entry_script="t.py", user_managed=True)
    assert managed.run_config.environment.python.user_managed_dependencies is True
    resumed = Estimator(".", compute_target="local", entry_script="t.py", script_params={"--epochs": 2},
                        resume_from=DataPath("workspaceblobstore", "ckpt"))
    assert resumed.run_config.arguments == ["--epochs", 2, "--resume-from", "$AZUREML_DATAREFERENCE_MODEL_LOCATION"]
    assert "MODEL_LOCATION" in resumed.run_config.data_references


def test_submitted_estimator_runs_with_overridden_script_params(exp, tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    (tmp_path / "train.py").write_text(
        "import os, sys\nfrom azureml.core import Run\nrun = Run.get_context()\n"
        "run.log('argv', ' '.join(sys.argv[1:]))\nrun.log('mode', os.environ['MODE'])\n")
    est = Estimator(str(tmp_path), compute_target="local", entry_script="train.py", script_params={"--n": 1},
                    environment_variables={"MODE": "fast"})
    with pytest.raises(TrainingException, match="node_count"):
        exp.submit(est, node_count=3)

    run = exp.submit(est, script_params={"--n": 2, "--flag": ""})

    assert re.fullmatch(rf"{exp.name}_\d{{10}}_[0-9a-f]{{8}}", run.id)
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics() == {"argv": "--n 2 --flag", "mode": "fast"}
