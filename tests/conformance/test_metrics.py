"""AML_API §7 items 1–23: metric writes, value typing, collapse rules (real SQLite store)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from aml_bridge import UserErrorException
from aml_bridge.errors import AzureMLAggregatedException, AzureMLException


@pytest.fixture
def run(exp):
    run = exp.start_logging(snapshot_directory=None)
    yield run


def test_item01_single_value_is_scalar(run):
    run.log("a", 1)
    run.flush()
    assert run.get_metrics()["a"] == 1
    assert not isinstance(run.get_metrics()["a"], list)


def test_item02_series_in_logged_order(run):
    run.log("a", 1)
    run.log("a", 2)
    run.flush()
    assert run.get_metrics()["a"] == [1, 2]


def test_item03_value_types(run):
    for name, value in [("f", 0.5), ("i", 3), ("b", True), ("s", "x"), ("n", None)]:
        run.log(name, value)
    metrics = run.get_metrics()
    assert type(metrics["f"]) is float and metrics["f"] == 0.5
    assert type(metrics["i"]) is int and metrics["i"] == 3
    assert metrics["b"] is True
    assert metrics["s"] == "x"
    assert "n" in metrics and metrics["n"] is None


def test_item04_other_types_are_stringified(run):
    run.log("t", (1, 2))
    run.log("d", {"k": 1})
    metrics = run.get_metrics()
    assert metrics["t"] == "(1, 2)"
    assert metrics["d"] == "{'k': 1}"


@pytest.mark.parametrize("value", [[1, 2], range(3), (i for i in [])])
def test_item05_lists_refused_by_log(run, value):
    with pytest.raises(UserErrorException, match="log_list"):
        run.log("x", value)
    assert run.get_metrics() == {}


def test_item06_numpy_scalars(run):
    run.log("n64", np.int64(5))
    run.log("n32", np.int32(5))
    run.log("f32", np.float32(0.5))
    metrics = run.get_metrics()
    assert metrics["n64"] == repr(np.int64(5)) and isinstance(metrics["n64"], str)
    assert type(metrics["n32"]) is int and metrics["n32"] == 5
    assert type(metrics["f32"]) is float and metrics["f32"] == 0.5


def test_item07_log_list(run):
    run.log_list("l", [1, 2, 3])
    run.log_list("l1", [5])
    metrics = run.get_metrics()
    assert metrics["l"] == [1, 2, 3]
    assert metrics["l1"] == 5


def test_item08_int_promoted_to_double(run):
    run.log_list("m", [1, 2.5])
    values = run.get_metrics()["m"]
    assert values == [1.0, 2.5] and all(type(v) is float for v in values)


def test_item09_empty_list_raises_and_records_nothing(run):
    with pytest.raises(AttributeError):
        run.log_list("e", [])
    assert "e" not in run.get_metrics()


def test_item10_list_element_types(run):
    with pytest.raises(AzureMLException):
        run.log_list("bad", [1, [2]])
    with pytest.raises(AzureMLException):
        run.log_list("np", np.array([1, 2]))
    run.log_list("npf", np.array([1.0, 2.0]))
    metrics = run.get_metrics()
    assert metrics["npf"] == [1.0, 2.0]
    assert "bad" not in metrics and "np" not in metrics


def test_item11_rows_read_column_wise(run):
    run.log_row("r", x=1, y=2)
    assert run.get_metrics()["r"] == {"x": 1, "y": 2}
    run.log_row("r", x=3, y=4)
    assert run.get_metrics()["r"] == {"x": [1, 3], "y": [2, 4]}


def test_item12_row_with_list_raises(run):
    with pytest.raises(AzureMLException, match="Rows cannot contain list values"):
        run.log_row("r", x=[1, 2])


def test_item13_tables(run):
    run.log_table("t", {"x": [1, 2], "y": [3, 4]})
    run.log_table("t1", {"x": [1], "y": [3]})
    run.log_table("t2", {"x": 1, "y": 3})
    metrics = run.get_metrics()
    assert metrics["t"] == {"x": [1, 2], "y": [3, 4]}
    assert metrics["t1"] == {"x": 1, "y": 3}
    assert metrics["t2"] == {"x": 1, "y": 3}


def test_item14_bad_tables(run):
    with pytest.raises(AzureMLException, match="Columns must have the same length"):
        run.log_table("t", {"x": [1, 2], "y": [3]})
    with pytest.raises(AttributeError):
        run.log_table("t", [1])
    with pytest.raises(AttributeError):
        run.log_table("t", {})
    assert run.get_metrics() == {}


def test_item15_step_is_stored(run):
    from mlflow import MlflowClient

    run.log("s", 1, step=7)
    run.log("s", 2)
    assert run.get_metrics()["s"] == [1, 2]
    history = MlflowClient(run._ws.tracking_uri).get_metric_history(run._backend_id, "s")
    assert sorted(m.step for m in history)[-1] == 7


def test_item16_name_filter_and_empty(run, exp):
    assert run.get_metrics() == {}
    run.log("a", 1)
    run.log("b", 2)
    assert run.get_metrics(name="a") == {"a": 1}
    assert run.get_metrics(name="missing") == {}


def test_item17_recursive_omits_metricless_runs(run):
    child1 = run.child_run("c1")
    child2 = run.child_run("c2")
    run.log("A", 1)
    child1.log("A", 2)
    assert run.get_metrics(recursive=True) == {run.id: {"A": 1}, child1.id: {"A": 2}}
    assert child2.id not in run.get_metrics(recursive=True)


CM = {"schema_type": "confusion_matrix", "schema_version": "1.0.0",
      "data": {"class_labels": ["a", "b"], "matrix": [[3, 1], [0, 4]]}}


def test_item18_json_metric_validation(run):
    with pytest.raises(UserErrorException, match="Invalid JSON provided"):
        run.log_confusion_matrix("cm", "{bad json")
    run.log_confusion_matrix("free", {"anything": "goes"})
    assert run.get_metrics()["free"].endswith("/free")


def test_item19_json_metric_artifact_and_uri(run):
    run.log_confusion_matrix("cm", CM)
    assert "cm" in run.get_file_names()
    assert "cm.png" in run.get_file_names()
    value = run.get_metrics()["cm"]
    assert value.startswith("aml://artifactId/ExperimentRun/") and value.endswith("/cm")
    populated = run.get_metrics(populate=True)["cm"]
    assert populated.convert_to_object() == CM
    assert json.loads(populated.data) == CM


def test_item20_second_json_metric_conflicts(run):
    run.log_confusion_matrix("cm", CM)
    with pytest.raises(AzureMLAggregatedException, match="Resource Conflict.*already exists"):
        run.log_confusion_matrix("cm", CM)


def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    fig.savefig(path)
    return fig


def test_item21_log_image_arguments(run, tmp_path):
    (tmp_path / "work" / "outputs").mkdir(exist_ok=True)
    fig = _png("outputs/p.png")
    with pytest.raises(AzureMLException):
        run.log_image("img", path="outputs/p.png", plot=fig)
    with pytest.raises(AzureMLException):
        run.log_image("img")
    with open("notanimage.txt", "w") as fh:
        fh.write("hello")
    with pytest.raises(AzureMLException):
        run.log_image("img", path="notanimage.txt")
    run.log_image("img", path="outputs/p.png")
    assert "outputs/p.png" in run.get_file_names()
    assert run.get_metrics()["img"].endswith("/outputs/p.png")


def test_item22_plot_artifact_name(run, tmp_path):
    fig = _png(str(tmp_path / "x.png"))
    run.log_image("plt", plot=fig)
    names = [n for n in run.get_file_names() if n.startswith("plt_")]
    assert len(names) == 1 and re.fullmatch(r"plt_\d{10}\.png", names[0])


def test_item23_flush_makes_everything_visible(run):
    from aml_bridge.plugins import hooks

    for i in range(50):
        run.log("many", i)
    run.flush()
    stored = hooks.aml_read_metrics(workspace=run._ws, run_id=run._backend_id)
    assert [m.value for m in stored if m.name == "many"] == list(range(50))
