"""AML_API §7 items 48–51: the offline run, exactly as Azure prints it."""

from __future__ import annotations

import pytest

from aml_bridge import Run, RunEnvironmentException


def test_item48_offline_identity():
    first, second = Run.get_context(), Run.get_context()
    assert first.id.startswith("OfflineRun_")
    assert first is not second
    with pytest.raises(RunEnvironmentException):
        Run.get_context(allow_offline=False)


def test_item49_offline_prints(capsys):
    run = Run.get_context()
    run.log("acc", 0.9)
    assert capsys.readouterr().out == "Attempted to log scalar metric acc:\n0.9\n"
    run.tag("k", "v")
    assert capsys.readouterr().out == "Attempted to add tag k with value v\n"
    run.fail("boom", error_code="X")
    assert capsys.readouterr().out == "Run failed with error code X:\nboom\n"


def test_item50_offline_missing_methods():
    run = Run.get_context()
    with pytest.raises(TypeError):
        run.log("a", 1, step=2)
    for name in ("get_metrics", "get_tags", "experiment"):
        with pytest.raises(AttributeError):
            getattr(run, name)


def test_item51_offline_children_and_context(capsys):
    run = Run.get_context()
    assert run.child_run("c").id == f"{run.id}.c"
    with run:
        pass
    assert capsys.readouterr().out == f"[START] Run {run.id} context\n[STOP] Run {run.id} context\n"
