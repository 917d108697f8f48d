"""Azure's graph rules (AML_API §3.2; checklist items 58 and 59) checked on the plan."""

from __future__ import annotations

import pytest

from aml_bridge.pipeline import Pipeline, PipelineData, PythonScriptStep, StepSequence


def _order(plan) -> list[str]:
    return [s.task_id for s in plan.steps]


def _upstream(plan) -> dict[str, list[str]]:
    return {s.task_id: s.upstream for s in plan.steps}


def test_closure_pulls_in_data_and_run_after_producers(ws, src) -> None:
    """Checklist item 58: Pipeline(ws, [c]) holds a, b, c and runs a -> b -> c."""
    p1 = PipelineData("p1")
    PythonScriptStep("prep.py", name="a", arguments=[p1], outputs=[p1])
    b = PythonScriptStep("train.py", name="b", inputs=[p1])
    c = PythonScriptStep("eval.py", name="c")
    c.run_after(b)
    plan = Pipeline(ws, [c]).plan()
    assert _order(plan) == ["a", "b", "c"]
    assert _upstream(plan) == {"a": [], "b": ["a"], "c": ["b"]}


def test_resolve_closure_false_rejects_unlisted_dependencies(ws, src) -> None:
    p1 = PipelineData("p1")
    a = PythonScriptStep("prep.py", name="a", outputs=[p1])
    b = PythonScriptStep("train.py", name="b", inputs=[p1])
    with pytest.raises(ValueError, match=r"Step \[b\] depends on step \[a\] \(input p1\).*resolve_closure=False"):
        Pipeline(ws, [b], resolve_closure=False)
    assert _order(Pipeline(ws, [b, a], resolve_closure=False).plan()) == ["a", "b"]


def test_step_sequence_orders_elements(ws, src) -> None:
    """Checklist item 59: s3 waits for s1 and s2, which may run concurrently."""
    s1, s2, s3 = (PythonScriptStep(s, name=n) for s, n in [("prep.py", "s1"), ("train.py", "s2"), ("eval.py", "s3")])
    plan = Pipeline(ws, StepSequence(steps=[[s1, s2], s3])).plan()
    assert _upstream(plan) == {"s1": [], "s2": [], "s3": ["s1", "s2"]}


def test_step_sequence_counts_closure_nodes_in_their_element(ws, src) -> None:
    p1 = PipelineData("p1")
    first = PythonScriptStep("prep.py", name="first")
    PythonScriptStep("train.py", name="producer", outputs=[p1])
    consumer = PythonScriptStep("eval.py", name="consumer", inputs=[p1])
    plan = Pipeline(ws, StepSequence(steps=[first, consumer])).plan()
    assert _upstream(plan) == {"first": [], "producer": ["first"], "consumer": ["first", "producer"]}


def test_nested_sequences_and_lists(ws, src) -> None:
    a, b, c, d = (PythonScriptStep("prep.py", name=n) for n in "abcd")
    plan = Pipeline(ws, StepSequence([a, [StepSequence([b, c]), d]])).plan()
    assert _upstream(plan) == {"a": [], "b": ["a"], "c": ["a", "b"], "d": ["a"]}


def test_plain_list_adds_no_order(ws, src) -> None:
    a, b = PythonScriptStep("prep.py", name="a"), PythonScriptStep("train.py", name="b")
    assert _upstream(Pipeline(ws, [a, b]).plan()) == {"a": [], "b": []}


def test_steps_are_memoised_and_pipeline_data_names_its_producer(ws, src) -> None:
    p1 = PipelineData("p1")
    a = PythonScriptStep("prep.py", name="a", outputs=[p1])
    b = PythonScriptStep("train.py", name="b", inputs=[p1])
    plan = Pipeline(ws, [b, a, [a, b], p1]).plan()
    assert _order(plan) == ["a", "b"]
    assert _order(Pipeline(ws, p1).plan()) == ["a"]


def test_validate_reports_a_cycle_naming_the_node(ws, src) -> None:
    p1 = PipelineData("p1")
    a = PythonScriptStep("prep.py", name="a", outputs=[p1])
    b = PythonScriptStep("train.py", name="b", inputs=[p1])
    a.run_after(b)
    pipeline = Pipeline(ws, [a, b])  # Azure does not reject cycles at construction
    errors = pipeline.validate()
    assert len(errors) == 1
    assert errors[0] in (f"Cycle detected including node a({a.id})", f"Cycle detected including node b({b.id})")
    with pytest.raises(ValueError, match=r"Cycle detected including node [ab]\(\w{8}\)"):
        pipeline.plan()


def test_validate_is_empty_for_a_valid_pipeline(ws, src) -> None:
    assert Pipeline(ws, [PythonScriptStep("prep.py")]).validate() == []


def test_independent_branches_keep_listing_order(ws, src) -> None:
    p1, p2 = PipelineData("p1"), PipelineData("p2")
    PythonScriptStep("prep.py", name="a", outputs=[p1])
    PythonScriptStep("prep.py", name="b", outputs=[p2])
    c = PythonScriptStep("train.py", name="c", inputs=[p2])
    d = PythonScriptStep("train.py", name="d", inputs=[p1])
    plan = Pipeline(ws, [d, c]).plan()
    assert _order(plan) == ["a", "d", "b", "c"]


def test_pipeline_rejects_unknown_kwargs(ws, src) -> None:
    with pytest.raises(ValueError, match="unexpected keyword"):
        Pipeline(ws, [PythonScriptStep("prep.py")], colour="red")
    Pipeline(ws, [PythonScriptStep("prep.py")], enable_email_notification=False)
