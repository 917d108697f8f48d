"""`ParallelRunStep` construction: checklist items 68 (step defaults), 69 and 70, and §4.2's input rules."""

from __future__ import annotations

import pytest

from aml_bridge.data import DataReference, OutputFileDatasetConfig
from aml_bridge.parallel import RESERVED_ARGUMENTS, ParallelRunStep
from aml_bridge.pipeline import Pipeline, PipelineData, PipelineDefinitionError, PipelineParameter


def _step(make_config, inputs, output=None, **kwargs):
    config = kwargs.pop("config", None) or make_config(**kwargs.pop("config_args", {}))
    return ParallelRunStep("score-step", config, inputs, output=output, **kwargs)


# --- item 68: defaults decided by the step ------------------------------------------------------------


def test_item_68_default_mini_batch_size_follows_the_input_kind(make_config, files, table) -> None:
    assert _step(make_config, [files.as_named_input("images")], PipelineData("out")).mini_batch_size == 10
    tabular = _step(make_config, [table.as_named_input("rows")], PipelineData("out"))
    assert (tabular.input_kind, tabular.mini_batch_size) == ("tabular", 1048576)
    explicit = _step(make_config, [table.as_named_input("rows")], PipelineData("out"),
                     config_args={"mini_batch_size": "64KB"})
    assert explicit.mini_batch_size == 65536
    keyed = _step(make_config, [files.as_named_input("images")], PipelineData("out"),
                  config_args={"partition_keys": ["region"]})
    assert keyed.mini_batch_size is None


def test_item_68_output_file_defaults_to_parallel_run_step_txt(make_config, files, ws) -> None:
    def extra(**config_args):
        step = _step(make_config, [files.as_named_input("images")], PipelineData("out"), config_args=config_args)
        return Pipeline(ws, [step]).plan().steps[0].extra

    assert extra()["append_row_file_name"] == "parallel_run_step.txt"
    assert extra(append_row_file_name="scores.csv")["append_row_file_name"] == "scores.csv"
    assert extra(output_action="summary_only")["append_row_file_name"] is None


# --- item 69: arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("arguments", [["x", "--a"], ["model", "--model"], [PipelineParameter("p", 1)]])
def test_item_69_first_argument_must_start_with_a_dash(make_config, files, arguments) -> None:
    with pytest.raises(ValueError, match=r"Step \[score-step\]: Found invalid argument .* must start with '-'"):
        _step(make_config, [files.as_named_input("images")], PipelineData("out"), arguments=arguments)


@pytest.mark.parametrize("name", RESERVED_ARGUMENTS)
@pytest.mark.parametrize("form", ["--{}", "--{}=3"])
def test_item_69_reserved_argument_names_raise(make_config, files, name, form) -> None:
    with pytest.raises(ValueError, match=rf"'{name}' is a reserved argument in ParallelRunStep"):
        _step(make_config, [files.as_named_input("images")], PipelineData("out"),
              arguments=["--ok", "1", form.format(name), "p"])


def test_item_69_the_checklist_examples_and_allowed_arguments(make_config, files) -> None:
    for arguments in (["--output", "p"], ["--mini_batch_size=3"]):
        with pytest.raises(ValueError, match="reserved argument"):
            _step(make_config, [files.as_named_input("images")], PipelineData("out"), arguments=arguments)
    step = _step(make_config, [files.as_named_input("images")], PipelineData("out"),
                 arguments=["-v", "--model", "m", "--outputs", "x", "--append_row_dataframe_header", "True", 5])
    assert [a.value for a in step.arguments] == ["-v", "--model", "m", "--outputs", "x",
                                                 "--append_row_dataframe_header", "True", "5"]


# --- item 70: output and input kinds -----------------------------------------------------------------------


def test_item_70_append_row_needs_an_output(make_config, files) -> None:
    with pytest.raises(Exception, match=r"Please specify output parameter"):
        _step(make_config, [files.as_named_input("images")])
    summary = _step(make_config, [files.as_named_input("images")], config_args={"output_action": "summary_only"})
    assert summary.outputs == []


def test_item_70_file_and_tabular_inputs_do_not_mix(make_config, files, table) -> None:
    with pytest.raises(Exception, match=r"All inputs of step must be same type"):
        _step(make_config, [files.as_named_input("images"), table.as_named_input("rows")], PipelineData("out"))


# --- §4.2 input, output and source rules --------------------------------------------------------------------


@pytest.mark.parametrize(("make_input", "message"), [
    (lambda files: PipelineData("raw"), r"Step input must be of any type: .* found PipelineData \(promote it with "
                                        r"\.as_dataset\(\)\)"),
    (lambda files: files, r"Step input must be of any type: .* found FileDataset"),
    (lambda files: "path/to/data", r"found str"),
    (lambda files: PipelineData("t").as_dataset().parse_delimited_files().as_mount(),
     r"Please ensure input dataset consumption mode is direct"),
])
def test_unsupported_inputs_raise(make_config, files, make_input, message) -> None:
    with pytest.raises(ValueError, match=message):
        _step(make_config, [make_input(files)], PipelineData("out"))


def test_inputs_are_required_unless_rank_mini_batches(make_config) -> None:
    with pytest.raises(ValueError, match=r"'inputs' must be a list and have at least one element"):
        _step(make_config, [], PipelineData("out"))
    ranked = _step(make_config, [], PipelineData("out"), arguments=["--rank_mini_batch_count", "4"])
    assert (ranked.rank_mini_batch_count, ranked.input_kind, ranked.mini_batch_size) == (4, "file", 10)
    with pytest.raises(ValueError, match="rank_mini_batch_count must be an integer"):
        _step(make_config, [], PipelineData("out"), arguments=["--rank_mini_batch_count", "many"])


def test_file_inputs_are_mounted_and_tabular_stay_direct(make_config, files, table, tmp_path) -> None:
    reference = DataReference(datastore="workspaceblobstore", data_reference_name="lookup", path_on_datastore="x")
    model = PipelineData("model")
    step = _step(make_config, [files.as_named_input("images"), files.as_named_input("more").as_download()],
                 PipelineData("out"), side_inputs=[files.as_named_input("labels"), model, reference])
    assert [(p.name, p.mode) for p in step._in_ports] == [
        ("images", "mount"), ("more", "mount"), ("labels", "mount"), ("model", "mount"), ("lookup", "mount")]
    tabular = _step(make_config, [table.as_named_input("rows")], PipelineData("out"),
                    side_inputs=[table.as_named_input("lookup_rows")])
    assert [(p.name, p.mode) for p in tabular._in_ports] == [("rows", "direct"), ("lookup_rows", "direct")]


def test_partitioned_file_inputs_must_be_direct(make_config, files) -> None:
    keyed = {"partition_keys": ["region"]}
    step = _step(make_config, [files.as_named_input("images")], PipelineData("out"), config_args=keyed)
    assert step._in_ports[0].mode == "direct"
    with pytest.raises(ValueError, match=r"input images must be in direct mode: partition_keys"):
        _step(make_config, [files.as_named_input("images").as_mount()], PipelineData("out"), config_args=keyed)


def test_output_must_be_pipeline_data_or_an_output_config(make_config, files) -> None:
    assert _step(make_config, [files.as_named_input("i")], OutputFileDatasetConfig("scores")).outputs[0].name == (
        "scores")
    with pytest.raises(ValueError, match=r"output must be a PipelineData or OutputFileDatasetConfig, got str"):
        _step(make_config, [files.as_named_input("i")], "scores")
    with pytest.raises(ValueError, match=r"a ParallelRunStep has one output"):
        _step(make_config, [files.as_named_input("i")], PipelineData("out"),
              arguments=["--extra", OutputFileDatasetConfig("second")])


def test_output_config_inputs_are_consumed_as_inputs(make_config, files) -> None:
    upstream = OutputFileDatasetConfig("prepared")
    step = _step(make_config, [upstream], PipelineData("out"), arguments=["--data", upstream])
    port = step._in_ports[0]
    assert (port.kind, port.mode, port.upstream) == ("dataset", "mount", upstream)
    assert step.arguments[1].value is port.origin and len(step.outputs) == 1  # not re-added as an output


def test_source_directory_and_entry_script_are_checked(make_config, files, src, ws) -> None:
    with pytest.raises(ValueError, match=r"The value '.*nowhere' specified in source_directory doesn't exist"):
        _step(make_config, [files.as_named_input("i")], PipelineData("out"),
              config_args={"source_directory": str(src / "nowhere")})
    with pytest.raises(ValueError, match=r"The value 'missing.py' specified in entry_script doesn't exist"):
        _step(make_config, [files.as_named_input("i")], PipelineData("out"),
              config_args={"entry_script": "missing.py"})
    # Without a source_directory the Pipeline's default source directory is checked when it is built.
    loose = _step(make_config, [files.as_named_input("i")], PipelineData("out"),
                  config_args={"source_directory": None, "entry_script": "elsewhere.py"})
    with pytest.raises(PipelineDefinitionError, match=r"Step \[score-step\]: entry_script not found at: .*elsewhere"):
        Pipeline(ws, [loose])


def test_config_must_be_a_parallel_run_config(files) -> None:
    with pytest.raises(ValueError, match=r"parallel_run_config must be a .*ParallelRunConfig, got dict"):
        ParallelRunStep("s", {"entry_script": "score.py"}, [files.as_named_input("i")], PipelineData("out"))
