"""Environment, CondaDependencies, RunConfiguration and ScriptRunConfig: Azure's defaults and checks."""

from __future__ import annotations

import logging

import pytest

from aml_bridge import Workspace, settings
from aml_bridge.errors import RunConfigurationException, UserErrorException
from aml_bridge.train import (
    DEFAULT_CPU_IMAGE,
    CondaDependencies,
    DockerConfiguration,
    Environment,
    MpiConfiguration,
    PyTorchConfiguration,
    RunConfiguration,
    ScriptRunConfig,
    TensorflowConfiguration,
)
from aml_bridge.train.environment import DockerSection


@pytest.fixture
def local_ws(tmp_path) -> Workspace:
    return Workspace(config=settings.resolve(home=str(tmp_path / "home")))


def test_environment_defaults_are_azures():
    env = Environment("my-env")
    assert env.python.user_managed_dependencies is False
    assert env.python.interpreter_path == "python"
    assert env.docker.base_image == DEFAULT_CPU_IMAGE and env.docker.shm_size == "2g"
    assert env.environment_variables == {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
    cd = env.python.conda_dependencies
    assert cd.conda_channels == ["anaconda", "conda-forge"]
    assert cd.pip_packages == ["azureml-defaults"] and cd.get_python_version() == "3.8.13"


def test_environment_variables_setter_warns(caplog):
    env = Environment("e")
    with caplog.at_level(logging.WARNING):
        env.environment_variables = {"A": "1"}
    assert env.environment_variables == {"A": "1"} and "deprecated" in caplog.text


def test_conda_dependencies_create_and_edit():
    cd = CondaDependencies.create(pip_packages=["scikit-learn==1.1.3", "pandas"], conda_packages=["numpy"],
                                  python_version="3.10")
    assert cd.get_python_version() == "3.10"
    assert "numpy" in cd.conda_packages
    assert cd.pip_packages == ["azureml-defaults~=1.61.0", "scikit-learn==1.1.3", "pandas"]
    cd.add_pip_package("pandas<2")  # same name again replaces
    cd.remove_pip_package("scikit-learn")
    cd.set_pip_option("--extra-index-url https://example.org/simple")
    assert cd.pip_packages == ["azureml-defaults~=1.61.0", "pandas<2"]
    assert cd.pip_options == ["--extra-index-url https://example.org/simple"]
    text = cd.serialize_to_string()
    assert text.startswith("# Conda environment specification") and "- pandas<2" in text
    assert CondaDependencies.create(pin_sdk_version=False).pip_packages == ["azureml-defaults"]


def test_environments_from_files(tmp_path):
    conda = tmp_path / "env.yml"
    conda.write_text("name: train\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip:\n"
                     "    - lightgbm\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pinned\nnumpy==1.23.5\n--index-url https://pypi.org/simple\n\npandas\n")

    from_conda = Environment.from_conda_specification("c", str(conda))
    assert from_conda.python.conda_dependencies.pip_packages == ["lightgbm"]
    assert from_conda.python.conda_dependencies.get_python_version() == "3.11"
    from_pip = Environment.from_pip_requirements("p", str(requirements))
    assert from_pip.python.conda_dependencies.pip_packages == ["numpy==1.23.5", "pandas"]
    assert from_pip.python.conda_dependencies.pip_options == ["--index-url https://pypi.org/simple"]
    image = Environment.from_docker_image("i", "python:3.11-slim")
    assert image.docker.base_image == "python:3.11-slim" and image.python.user_managed_dependencies is True
    with_spec = Environment.from_docker_image("j", "python:3.11-slim", conda_specification=str(conda))
    assert with_spec.python.user_managed_dependencies is False
    with pytest.raises(UserErrorException):
        Environment.from_docker_image("k", "img", conda_specification=str(conda), pip_requirements=str(requirements))
    dockerfile = Environment.from_dockerfile("d", "FROM ubuntu:22.04\n")
    assert dockerfile.docker.base_image is None and dockerfile.docker.base_dockerfile == "FROM ubuntu:22.04\n"


def test_register_get_list_round_trip(local_ws):
    env = Environment.from_docker_image("train-env", "python:3.11-slim")
    env.environment_variables = {"MODE": "fast"}

    first = env.register(local_ws)
    assert first.version == "1"
    assert env.register(local_ws).version == "1"  # unchanged definition: same version
    env.docker.shm_size = "8g"
    assert env.register(local_ws).version == "2"

    latest = Environment.get(local_ws, "train-env")
    assert latest.version == "2" and latest.docker.shm_size == "8g"
    assert latest.environment_variables == {"MODE": "fast"}
    assert Environment.get(local_ws, "train-env", version="1").docker.shm_size == "2g"
    assert Environment.get(local_ws, "train-env", version="1") == first
    assert list(Environment.list(local_ws)) == ["train-env"]
    with pytest.raises(UserErrorException, match="not found"):
        Environment.get(local_ws, "missing-env")
    curated = Environment.get(local_ws, "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu")
    assert curated.python.user_managed_dependencies is True


def test_existing_conda_environment_needs_conda(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UserErrorException, match="conda"):
        Environment.from_existing_conda_environment("e", "base")


def test_run_configuration_defaults_are_azures():
    rc = RunConfiguration()
    assert (rc.target, rc.framework, rc.communicator, rc.node_count) == ("local", "Python", "None", 1)
    assert rc.arguments == [] and rc.max_run_duration_seconds is None and rc.environment_variables == {}
    assert rc.environment.name == "default-environment"
    assert rc.history.output_collection is True and rc.history.snapshot_project is True
    assert rc.history.directories_to_watch == ["logs"]
    assert (rc.docker.use_docker, rc.docker.shared_volumes, rc.docker.arguments, rc.docker.shm_size) == (
        False, True, [], "2g")
    assert rc.data == {} and rc.data_references == {} and rc.output_data == {}
    assert isinstance(rc.environment.docker, DockerSection)
    rc.environment.docker.enabled = True  # legacy settings still accepted
    cd = CondaDependencies.create(pip_packages=["torch"])
    assert RunConfiguration(conda_dependencies=cd).environment.python.conda_dependencies == cd


def test_script_run_config_defaults_and_compute_object(ws):
    from aml_bridge.compute import ComputeTarget

    src = ScriptRunConfig(source_directory="src", script="train.py", arguments=["--lr", 0.1],
                          compute_target=ComputeTarget(ws, "cpu-cluster"))
    assert src.run_config.target == "cpu-cluster"
    assert src.run_config.environment.name == "default-environment"
    assert src.run_config.max_run_duration_seconds == 2592000
    assert (src.script, src.arguments, src.run_config.script) == ("train.py", ["--lr", 0.1], "train.py")
    assert ScriptRunConfig(".", "t.py").run_config.target == "local"


def test_script_run_config_with_run_config_inherits_and_warns(caplog):
    rc = RunConfiguration(script="inherited.py", arguments=["--a", "1"])
    rc.target = "gpu"
    with caplog.at_level(logging.WARNING):
        src = ScriptRunConfig(".", run_config=rc, compute_target="ignored", environment=Environment("x"))
    assert src.script == "inherited.py" and src.arguments == ["--a", "1"] and src.run_config.target == "gpu"
    assert "compute_target, environment ignored" in caplog.text
    assert ScriptRunConfig(".", script="mine.py", run_config=rc).script == "mine.py"


def test_command_and_script_are_exclusive():
    with pytest.raises(UserErrorException, match="command"):
        ScriptRunConfig(".", script="train.py", command=["python", "train.py"])
    src = ScriptRunConfig(".", command="python train.py --epochs 3")
    assert src.command == "python train.py --epochs 3" and src.script is None


def test_resume_from_must_be_a_datapath():
    from aml_bridge.data import DataPath

    with pytest.raises(UserErrorException, match="DataPath"):
        ScriptRunConfig(".", "train.py", resume_from="outputs/checkpoint")
    src = ScriptRunConfig(".", "train.py", arguments=["--epochs", 3],
                          resume_from=DataPath("workspaceblobstore", "checkpoints/run1"))
    assert src.arguments == ["--epochs", 3, "--resume-from", "$AZUREML_DATAREFERENCE_MODEL_LOCATION"]
    reference = src.run_config.data_references["MODEL_LOCATION"]
    assert reference.data_reference_name == "MODEL_LOCATION" and reference.mode == "mount"


def test_distributed_job_configs_map_like_azure():
    mpi = ScriptRunConfig(".", "t.py", distributed_job_config=MpiConfiguration(process_count_per_node=2,
                                                                                 node_count=3)).run_config
    assert (mpi.framework, mpi.communicator, mpi.node_count) == ("Python", "IntelMpi", 3)
    torch = ScriptRunConfig(".", "t.py", distributed_job_config=PyTorchConfiguration(process_count=8,
                                                                                       node_count=2)).run_config
    assert (torch.framework, torch.communicator, torch.node_count) == ("PyTorch", "Nccl", 2)
    tf = ScriptRunConfig(".", "t.py", distributed_job_config=TensorflowConfiguration(worker_count=4)).run_config
    assert (tf.framework, tf.communicator, tf.node_count) == ("TensorFlow", "ParameterServer", 4)
    with pytest.raises(RunConfigurationException):
        ScriptRunConfig(".", "t.py", distributed_job_config={"nodes": 2})
    docker = DockerConfiguration(use_docker=True)
    assert ScriptRunConfig(".", "t.py", docker_runtime_config=docker).run_config.docker is docker


def test_submit_runs_detached_and_wait_for_completion_shows_the_log(exp, tmp_path, capsys, monkeypatch):
    import re
    import zipfile

    monkeypatch.setenv("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    src = tmp_path / "src"
    (src / "util").mkdir(parents=True)
    (src / "util" / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (src / "train.py").write_text(
        "import argparse, os\nfrom azureml.core import Run\nfrom util.helpers import double\n"
        "parser = argparse.ArgumentParser()\nparser.add_argument('--n', type=int)\nparser.add_argument('--experiment')\n"
        "args = parser.parse_args()\n"
        "Run.get_context().log('doubled', double(args.n))\nos.makedirs('outputs', exist_ok=True)\n"
        "open('outputs/result.txt', 'w').write(os.environ['GREETING'])\nprint('trained with', args.n, args.experiment)\n")
    (src / ".amlignore").write_text("scratch/\n")
    (src / "scratch").mkdir()
    (src / "scratch" / "big.bin").write_bytes(b"ignored")
    config = ScriptRunConfig(source_directory=str(src), script="train.py", arguments=["--n", 21, "--experiment", "own"])
    config.run_config.environment_variables["GREETING"] = "hello"

    run = exp.submit(config, tags={"team": "vision"})

    assert re.fullmatch(rf"{exp.name}_\d{{10}}_[0-9a-f]{{8}}", run.id)
    assert run.get_status() in ("Starting", "Running")  # submit returned before the job ended
    details = run.wait_for_completion(show_output=True)
    assert details["status"] == "Completed"
    assert "trained with 21 own" in capsys.readouterr().out  # the script's own --experiment flag reached it
    assert run.get_metrics() == {"doubled": 42} and run.get_tags() == {"team": "vision"}
    run.download_file("outputs/result.txt", str(tmp_path / "result.txt"))
    assert (tmp_path / "result.txt").read_text() == "hello"
    with zipfile.ZipFile(run.restore_snapshot(path=str(tmp_path))) as snapshot:
        assert sorted(snapshot.namelist()) == [".amlignore", "train.py", "util/helpers.py"]
    assert not (src / "outputs").exists()  # the job ran in a copy of the source folder


def test_submitted_command_that_fails_raises_on_wait(exp, tmp_path, monkeypatch):
    from aml_bridge.errors import ActivityFailedException

    monkeypatch.setenv("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    (tmp_path / "job.py").write_text("import sys\nsys.exit(f'bad arguments: {sys.argv[1:]}')\n")
    run = exp.submit(ScriptRunConfig(str(tmp_path), command="python job.py --experiment x --lr 1"))

    with pytest.raises(ActivityFailedException, match=r"bad arguments: \['--experiment', 'x', '--lr', '1'\]"):
        run.wait_for_completion()
    assert run.get_status() == "Failed"


def test_submit_rejects_unknown_keyword_arguments_and_data_arguments(exp):
    with pytest.raises(TypeError):
        exp.submit(ScriptRunConfig(".", "t.py"), priority=3)
    with pytest.raises(UserErrorException, match="cannot be passed"):
        exp.submit(ScriptRunConfig(".", "t.py", arguments=["--data", object()]))
