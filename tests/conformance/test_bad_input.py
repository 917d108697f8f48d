"""Bad input (AML_API §1.5, §1.7): each validation raises the Azure-named exception with a clear
message, and nothing partial is recorded (metrics, tags, properties and files are unchanged)."""

from __future__ import annotations

import numpy as np
import pytest

from aml_bridge import Experiment, UserErrorException
from aml_bridge.errors import AzureMLAggregatedException, AzureMLException


def _img(path):
    with open(path, "w") as fh:
        fh.write("not an image")
    return path


CASES = [
    ("log of a list", lambda r: r.log("x", [1, 2]), UserErrorException, "log_list"),
    ("log of a range", lambda r: r.log("x", range(3)), UserErrorException, "log_list"),
    ("log of a generator", lambda r: r.log("x", (i for i in [1])), UserErrorException, "log_list"),
    ("log_list empty", lambda r: r.log_list("x", []), AttributeError, "empty"),
    ("log_list nested", lambda r: r.log_list("x", [1, [2]]), AzureMLException, "not supported"),
    ("log_list int64 array", lambda r: r.log_list("x", np.array([1, 2])), AzureMLException, "int64"),
    ("log_list huge int", lambda r: r.log_list("x", [2 ** 400]), AzureMLException, "too large"),
    ("log_row list value", lambda r: r.log_row("x", a=[1]), AzureMLException, "Rows cannot contain list values"),
    ("log_row int64", lambda r: r.log_row("x", a=np.int64(1)), AzureMLException, "not supported"),
    ("log_table not a dict", lambda r: r.log_table("x", [1]), AttributeError, "dict"),
    ("log_table empty", lambda r: r.log_table("x", {}), AttributeError, "empty"),
    ("log_table ragged", lambda r: r.log_table("x", {"a": [1, 2], "b": [1]}), AzureMLException, "same length"),
    ("json metric bad json", lambda r: r.log_confusion_matrix("x", "{nope"), UserErrorException, "Invalid JSON"),
    ("image without source", lambda r: r.log_image("x"), AzureMLException, "path or plot"),
    ("image not an image", lambda r: r.log_image("x", path=_img("f.txt")), AzureMLException, "not a recognised image"),
    ("image plot without savefig", lambda r: r.log_image("x", plot=object()), AzureMLException, "savefig"),
    ("property change", lambda r: r.add_properties({"fixed": "other", "extra": "1"}), UserErrorException,
     "cannot be changed"),
    ("upload_files mismatch", lambda r: r.upload_files(["a"], ["b", "c"]), TypeError, "same length"),
    ("upload over existing", lambda r: r.upload_file("kept.txt", _img("g.txt")), AzureMLAggregatedException,
     "Resource Conflict"),
    ("children both ways", lambda r: r.create_children(count=1, tag_key="k", tag_values=["v"]), UserErrorException,
     "not both"),
    ("children too many", lambda r: r.create_children(count=101), UserErrorException, "at most 100"),
    ("fail with a number", lambda r: r.fail(42), TypeError, "string or an exception"),
]


@pytest.mark.parametrize(("label", "call", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_nothing_partial_is_recorded(exp, label, call, error, message):
    run = exp.start_logging(snapshot_directory=None)
    run.log("kept", 1)
    run.add_properties({"fixed": "v"})
    run.upload_file("kept.txt", _img("kept_local.txt"))
    before = (run.get_metrics(), run.get_tags(), run.get_properties(), run.get_file_names(),
              len(list(run.get_children())))
    with pytest.raises(error, match=message):
        call(run)
    after = (run.get_metrics(), run.get_tags(), run.get_properties(), run.get_file_names(),
             len(list(run.get_children())))
    assert after == before
    assert run.get_status() == "Running"


def test_experiment_name_rules(ws):
    for bad in ("", "-starts-with-dash", "has space", "x" * 256, "a/b"):
        with pytest.raises(UserErrorException, match="Experiment name"):
            Experiment(ws, bad)
    assert Experiment(ws, "ok_name-1").name == "ok_name-1"
