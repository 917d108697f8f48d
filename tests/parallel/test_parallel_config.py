"""`ParallelRunConfig`: checklist items 67 and 68 (config half), PipelineParameter fields, YAML."""

from __future__ import annotations

import pytest

from aml_bridge.compute import AmlCompute
from aml_bridge.parallel import ParallelRunConfig, parse_mini_batch_size
from aml_bridge.pipeline import PipelineDefinitionError, PipelineParameter
from aml_bridge.train import Environment


@pytest.mark.parametrize(("given", "stored"), [
    ("10MB", 10485760), ("5kb", 5120), ("2Gb", 2 * 1024 ** 3), ("7", 7), (7, 7), ("10mB", 10485760),
])
def test_mini_batch_size_strings_become_ints(make_config, given, stored) -> None:
    assert make_config(mini_batch_size=given).mini_batch_size == stored


@pytest.mark.parametrize("bad", ["1.5MB", "5tb", "", "MB", "10 MB", "1kbmb", 0, "0", 1.5, True, [10]])
def test_bad_mini_batch_size_raises_value_error(make_config, bad) -> None:
    with pytest.raises(ValueError, match="mini_batch_size"):
        make_config(mini_batch_size=bad)


# Item 67: each invalid field raises ValueError, naming the field (Azure's message where it has one).
INVALID = [
    ({"mini_batch_size": "10", "partition_keys": ["k"]}, r"mini_batch_size and partition_keys are mutually"),
    ({"error_threshold": -2}, r"^error_threshold '-2' is not an int value greater than or equal to -1\.$"),
    ({"error_threshold": "5"}, r"error_threshold '5' is not an int"),
    ({"output_action": "foo"}, r"output_action must be summary_only or append_row"),
    ({"allowed_failed_percent": 101}, r"allowed_failed_percent '101' is not between 0 and 100"),
    ({"allowed_failed_percent": -0.5}, r"allowed_failed_percent '-0.5' is not between 0 and 100"),
    ({"allowed_failed_percent": "10"}, r"allowed_failed_percent '10' is not an int or float"),
    ({"allowed_failed_count": -2}, r"allowed_failed_count '-2' is not an int value greater than or equal to -1"),
    ({"run_max_try": 0}, r"run_max_try must be an integer greater than 0"),
    ({"run_invocation_timeout": 0}, r"run_invocation_timeout must be an integer greater than 0"),
    ({"process_count_per_node": 0}, r"process_count_per_node must be an integer greater than 0"),
    ({"node_count": 0}, r"node_count must be an integer greater than 0"),
    ({"append_row_file_name": "a/b.txt"}, r"append_row_file_name must be a valid UNIX file name"),
    ({"append_row_file_name": "a|b.txt"}, r"append_row_file_name must be a valid UNIX file name"),
    ({"partition_keys": []}, r"partition_keys must be a non-empty list of strings"),
    ({"partition_keys": ["a", 1]}, r"partition_keys must be a non-empty list of strings"),
    ({"environment": None}, r"Parameter environment is required"),
    ({"environment": "my-env"}, r"environment must be an instance of azureml.core.Environment"),
    ({"entry_script": None}, r"entry_script is required"),
    ({"mini_batch_size": PipelineParameter("mbs", "1.5MB")}, r"mini_batch_size must follow regex rule"),
    ({"run_max_try": PipelineParameter("tries", 0)}, r"run_max_try must be an integer greater than 0"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID,
                         ids=[f"{i}-{'+'.join(o)}" for i, (o, _) in enumerate(INVALID)])
def test_item_67_invalid_fields_raise(make_config, overrides, message) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        make_config(**overrides)
    assert isinstance(caught.value, PipelineDefinitionError)


def test_append_row_file_name_is_only_checked_for_append_row(make_config) -> None:
    assert make_config(output_action="summary_only", append_row_file_name="a/b.txt").append_row_file_name == "a/b.txt"


def test_node_count_is_checked_against_an_aml_compute_max_nodes(make_config) -> None:
    cluster = AmlCompute()
    cluster.name, cluster.max_nodes = "cpu", 4
    assert make_config(compute_target=cluster, node_count=4).compute_target_name == "cpu"
    with pytest.raises(ValueError, match=r"node_count '5' is not between 1 and max_nodes 4"):
        make_config(compute_target=cluster, node_count=5)


def test_item_68_config_defaults(make_config) -> None:
    config = make_config()
    assert (config.run_invocation_timeout, config.run_max_try, config.logging_level) == (60, 3, "INFO")
    assert config.mini_batch_size is None and config.process_count_per_node is None
    assert (config.allowed_failed_count, config.allowed_failed_percent, config.partition_keys) == (None, None, None)
    assert config.append_row_file_name is None and config.environment_variables == {}
    explicit_none = make_config(logging_level=None, run_invocation_timeout=None, run_max_try=None)
    assert (explicit_none.run_invocation_timeout, explicit_none.run_max_try, explicit_none.logging_level) == (
        60, 3, "INFO")


def test_values_are_kept_as_given(make_config) -> None:
    config = make_config(output_action="APPEND_ROW", entry_script="  score.py  ", allowed_failed_count=-1,
                         allowed_failed_percent=12.5, partition_keys=["region"], environment_variables={"A": "1"})
    assert (config.output_action, config.entry_script) == ("APPEND_ROW", "score.py")
    assert (config.allowed_failed_count, config.allowed_failed_percent, config.partition_keys) == (-1, 12.5, ["region"])


def test_pipeline_parameters_are_kept_and_their_defaults_checked(make_config) -> None:
    size, nodes, keys = PipelineParameter("mbs", "2kb"), PipelineParameter("nodes", 3), PipelineParameter(
        "keys", '["region"]')
    config = make_config(mini_batch_size=size, node_count=nodes)
    assert config.mini_batch_size is size and config.node_count is nodes
    assert config.parameters() == {"node_count": nodes, "mini_batch_size": size}
    assert make_config(partition_keys=keys).parameters() == {"partition_keys": keys}
    with pytest.raises(ValueError, match="partition_keys"):
        make_config(partition_keys=PipelineParameter("keys", "region"))


def test_parse_mini_batch_size_is_the_shared_rule() -> None:
    assert parse_mini_batch_size("1KB") == 1024 and parse_mini_batch_size(3) == 3
    with pytest.raises(ValueError):
        parse_mini_batch_size("3TB")


def test_yaml_round_trip(make_config, ws, tmp_path) -> None:
    config = make_config(mini_batch_size="10MB", process_count_per_node=2, description="scoring",
                         logging_level="DEBUG", run_invocation_timeout=30, run_max_try=5,
                         append_row_file_name="out.txt", allowed_failed_count=3, allowed_failed_percent=10,
                         environment_variables={"A": "1"})
    path = tmp_path / "prc.yml"
    config.save_to_yaml(str(path))
    text = path.read_text()
    assert text.startswith("parallel_run_config:") and "allowed_failed" not in text  # as Azure (AML_API Δ15)
    loaded = ParallelRunConfig.load_yaml(ws, str(path))
    for field in ("entry_script", "error_threshold", "output_action", "node_count", "process_count_per_node",
                  "mini_batch_size", "source_directory", "description", "logging_level", "run_invocation_timeout",
                  "run_max_try", "append_row_file_name", "environment_variables", "partition_keys"):
        assert getattr(loaded, field) == getattr(config, field), field
    assert loaded.environment == config.environment
    assert loaded.compute_target_name == "cpu-cluster" and isinstance(loaded.compute_target, AmlCompute)
    assert (loaded.allowed_failed_count, loaded.allowed_failed_percent) == (None, None)


def test_load_yaml_reads_what_save_omits_and_registered_environments(ws, src, tmp_path) -> None:
    Environment("registered-env").register(ws)
    path = tmp_path / "hand.yml"
    path.write_text("parallel_run_config:\n  entry_script: score.py\n  source_directory: .\n  error_threshold: -1\n"
                    "  output_action: summary_only\n  compute_target_name: cpu\n  node_count: 1\n"
                    "  mini_batch_size: 5kb\n  allowed_failed_count: 3\n  allowed_failed_percent: 20\n"
                    "  environment_name: registered-env\n")
    loaded = ParallelRunConfig.load_yaml(ws, str(path))
    assert (loaded.mini_batch_size, loaded.allowed_failed_count, loaded.allowed_failed_percent) == (5120, 3, 20)
    assert loaded.environment.name == "registered-env" and loaded.environment.version == "1"
    (tmp_path / "empty.yml").write_text("other: 1\n")
    with pytest.raises(ValueError, match="no 'parallel_run_config:' mapping"):
        ParallelRunConfig.load_yaml(ws, str(tmp_path / "empty.yml"))
