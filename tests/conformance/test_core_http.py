"""The core subset against both stores: SQLite and a real `mlflow server` over HTTP."""

from __future__ import annotations

import os
import uuid

from aml_bridge import Experiment, Run


def test_core_subset(any_ws):
    exp = Experiment(any_ws, f"core-subset-{uuid.uuid4().hex[:6]}")
    run = exp.start_logging(snapshot_directory=None)
    run.log("acc", 0.5)
    run.log("acc", 0.75)
    run.log("label", "cat")
    run.log_row("r", x=1, y="a")
    run.tag("k", "v")
    run.add_properties({"p": "1"})
    child = run.child_run("c")
    child.log("loss", 3)
    child.complete()
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/out.txt", "w") as fh:
        fh.write("result")
    with open("note.txt", "w") as fh:
        fh.write("note")
    run.upload_file("notes/note.txt", "note.txt")
    run.complete()

    again = Run.get(any_ws, run.id)
    assert again.get_metrics() == {"acc": [0.5, 0.75], "label": "cat", "r": {"x": 1, "y": "a"}}
    assert again.get_tags()["k"] == "v"
    assert again.get_properties()["p"] == "1"
    assert again.get_status() == "Completed"
    assert {"notes/note.txt", "outputs/out.txt"} <= set(again.get_file_names())
    assert [c.id for c in again.get_children()] == [child.id]
    assert again.get_metrics(recursive=True) == {run.id: again.get_metrics(), child.id: {"loss": 3}}
    again.download_file("outputs/out.txt", "copy.txt")
    assert open("copy.txt").read() == "result"
