"""AML_API §7 items 24–40: tags, properties, identity, lifecycle, children, details."""

from __future__ import annotations

import inspect
import sys
import uuid

import pytest

from aml_bridge import ActivityFailedException, Run, UserErrorException


@pytest.fixture
def run(exp):
    return exp.start_logging(snapshot_directory=None)


def test_item24_tags_merge(run):
    run.tag("k", "v")
    run.set_tags({"a": "b"})
    assert {"k": "v", "a": "b"}.items() <= run.get_tags().items()
    run.set_tags({"k": "v2"})
    tags = run.get_tags()
    assert tags["k"] == "v2" and tags["a"] == "b"


def test_item25_tag_values_are_strings(run):
    run.set_tags({"n": 5})
    run.tag("bare")
    tags = run.get_tags()
    assert tags["n"] == "5"
    assert tags["bare"] == ""


def test_item26_remove_tags(run):
    run.set_tags({"a": "1", "b": "2"})
    run.remove_tags(["a"])
    tags = run.get_tags()
    assert "a" not in tags and tags["b"] == "2"


def test_item27_cached_tags_until_refresh(run):
    before = dict(run.tags)
    run.set_tags({"fresh": "1"})
    assert run.tags == before
    assert run.get_tags()["fresh"] == "1"
    assert run.tags["fresh"] == "1"


def test_item28_properties(run):
    run.add_properties({})
    run.add_properties({"p": "q"})
    assert run.get_properties()["p"] == "q"


def test_item29_properties_are_add_only(run):
    run.add_properties({"p": "q"})
    run.add_properties({"p": "q"})
    with pytest.raises(UserErrorException, match="cannot be changed"):
        run.add_properties({"p": "other", "new": "x"})
    properties = run.get_properties()
    assert properties["p"] == "q"
    assert "new" not in properties  # nothing partial


def test_item30_start_logging(exp):
    with open("train.py", "w") as fh:
        fh.write("print('hi')\n")
    run = exp.start_logging()
    assert run.get_status() == "Running"
    uuid.UUID(run.id)
    assert run.name == "run_" + run.id
    assert run.get_properties()["ContentSnapshotId"]
    assert exp.start_logging(snapshot_directory=None).get_properties().get("ContentSnapshotId") is None


def test_item31_complete_and_fail(exp):
    done = exp.start_logging(snapshot_directory=None)
    done.complete()
    assert done.get_status() == "Completed"
    failed = exp.start_logging(snapshot_directory=None)
    failed.fail("boom")
    assert failed.get_status() == "Failed"
    error = failed.get_details()["error"]["error"]
    assert error["code"] == "UserError" and error["message"] == "boom"
    raised = exp.start_logging(snapshot_directory=None)
    raised.fail(ValueError("x"))
    assert raised.get_details()["error"]["error"]["message"] == "User program failed with ValueError: x"


def test_item32_cancel(run):
    run.cancel()
    assert run.get_status() == "Canceled"


def test_item33_context_manager(exp):
    with exp.start_logging(snapshot_directory=None) as ok:
        pass
    assert ok.get_status() == "Completed"
    with pytest.raises(KeyError), exp.start_logging(snapshot_directory=None) as bad:
        raise KeyError()
    assert bad.get_status() == "Failed"
    with exp.start_logging(snapshot_directory=None) as quit_run:
        sys.exit(0)
    assert quit_run.get_status() == "Running"


def test_item34_child_run(run):
    child = run.child_run("part")
    assert child.get_status() == "Running"
    assert child.parent.id == run.id
    assert child.name == run.name + ">part"
    assert child.id in [c.id for c in run.get_children()]


def test_item35_child_context_completes(run):
    with run.child_run() as child:
        child.log("z", 1)
    assert child.get_status() == "Completed"
    assert child.get_metrics() == {"z": 1}


def test_item36_create_children(run):
    children = run.create_children(count=3)
    assert isinstance(children, list) and len(children) == 3
    assert [c.get_status() for c in children] == ["Running"] * 3
    assert sorted(c.get_tags()["azureml.batch_child_number"] for c in children) == ["0", "1", "2"]
    tagged = run.create_children(tag_key="fold", tag_values=["a", "b"])
    assert sorted(c.get_tags()["fold"] for c in tagged) == ["a", "b"]
    for bad in ({"count": 101}, {}, {"count": 2, "tag_key": "k", "tag_values": ["v"]}, {"tag_key": "k"}):
        with pytest.raises(UserErrorException):
            run.create_children(**bad)
    assert len(list(run.get_children())) == 5


def test_item37_children_generator_and_recursion(run):
    child = run.child_run("c")
    grandchild = child.child_run("g")
    children = run.get_children()
    assert inspect.isgenerator(children)
    assert [c.id for c in children] == [child.id]
    assert {c.id for c in run.get_children(recursive=True)} == {child.id, grandchild.id}
    assert run.parent is None


def test_item38_wait_for_completion(exp):
    done = exp.start_logging(snapshot_directory=None)
    done.complete()
    details = done.wait_for_completion()
    assert details["status"] == "Completed" and "endTimeUtc" in details
    failed = exp.start_logging(snapshot_directory=None)
    failed.fail("nope")
    with pytest.raises(ActivityFailedException):
        failed.wait_for_completion()
    assert failed.wait_for_completion(raise_on_error=False)["status"] == "Failed"


def test_item39_details_of_running_run(run):
    details = run.get_details()
    assert "endTimeUtc" not in details
    assert isinstance(details["logFiles"], dict)
    assert "submittedBy" in details
    assert details["runId"] == run.id and details["status"] == "Running"


def test_item40_portal_url(run):
    url = run.get_portal_url()
    assert f"/runs/{run.id}?wsid=/subscriptions/" in url
    assert url.startswith(run._ws.mlflow_ui)


def test_run_get_and_list(exp, ws):
    first = exp.start_logging(snapshot_directory=None)
    second = exp.start_logging(snapshot_directory=None)
    second.set_tags({"kind": "b"})
    second.add_properties({"stage": "x"})
    assert Run.get(ws, first.id).id == first.id
    listed = [r.id for r in exp.get_runs()]
    assert listed == [second.id, first.id]  # newest first
    assert [r.id for r in exp.get_runs(tags={"kind": "b"})] == [second.id]
    assert [r.id for r in exp.get_runs(tags="kind")] == [second.id]
    assert [r.id for r in exp.get_runs(properties={"stage": "x"})] == [second.id]
    assert first.number < second.number
    assert exp.name in ws.experiments


def test_custom_run_id_resolves(run, ws):
    child = run.child_run("named", run_id="my_custom_id_1")
    assert child.id == "my_custom_id_1"
    assert Run.get(ws, "my_custom_id_1").parent.id == run.id
