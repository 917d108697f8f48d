"""Pure helpers of the MLflow plugin: key sanitising, filter quoting, journal codec, tables, error JSON."""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
from pathlib import Path

import pytest

from aml_bridge.records import ARTIFACT, ROW, SCALAR, Metric
from aml_bridge.settings import resolve
from mlflow_plugin import journal, store, tables
from mlflow_plugin.store import fit_json


@pytest.mark.parametrize(("name", "key"), [
    ("loss", "loss"),
    ("val/acc top-1.x", "val/acc top-1.x"),
    ("a:b?c", "a_b_c"),
    ("précision", "pr_cision"),
    ("a//b", "a__b"),
    ("/abs", "_abs"),
    ("trailing/", "trailing_"),
    ("..", "_.."),
    ("../up", "_.._up"),
    ("", "_"),
    ("x" * 300, "x" * 250),
])
def test_metric_key_is_always_accepted_by_mlflow(name: str, key: str) -> None:
    from mlflow.utils.validation import _validate_metric_name

    assert store.metric_key(name) == key
    _validate_metric_name(key)  # raises if MLflow would refuse it


def test_tag_clause_quotes_or_declines() -> None:
    assert store.tag_clause("aml_bridge.run_id", "abc") == "tags.`aml_bridge.run_id` = 'abc'"
    assert store.tag_clause("k", "it's") == "tags.`k` = \"it's\""
    assert store.tag_clause("k", "both ' and \"") is None
    assert store.tag_clause("k", "back\\slash") is None
    assert store.tag_clause("odd`key", "v") is None


def test_artifact_location_per_store_kind(tmp_path: Path) -> None:
    local = resolve(home=str(tmp_path), tracking_uri="sqlite:///x.db", artifact_root=str(tmp_path))
    assert store.artifact_location(local, "exp") == (tmp_path.resolve() / "exp").as_uri()
    s3 = resolve(home=str(tmp_path), tracking_uri="sqlite:///x.db", artifact_root="s3://bucket/root/")
    assert store.artifact_location(s3, "exp") == "s3://bucket/root/exp"
    server = resolve(home=str(tmp_path), tracking_uri="http://127.0.0.1:5000", artifact_root=str(tmp_path))
    assert store.artifact_location(server, "exp") is None


def test_status_mapping() -> None:
    assert store.run_status({}, "SCHEDULED") == "NotStarted"
    assert store.run_status({}, "FINISHED") == "Completed"
    assert store.run_status({}, "KILLED") == "Canceled"
    assert store.run_status({"aml_bridge.status": "Finalizing"}, "RUNNING") == "Finalizing"


def test_journal_codec_keeps_exact_types() -> None:
    values = [0, -1, 2**63, -(2**80), 1.5, -0.0, 1e-310, float("inf"), float("-inf"), True, False,
              None, "", "ünïcode \n line", {"a": 1, "b": [1, 2], "c": None, "d": {"e": 2.5}}]
    metrics = [Metric(f"m{i}", v, i if i % 2 else None, 1.7e9 + i / 3, SCALAR) for i, v in enumerate(values)]
    metrics.append(Metric("uri", "aml://artifactId/x.png", None, 1.8e9, ARTIFACT))
    decoded = journal.decode(journal.encode(metrics))
    assert decoded == metrics
    for before, after in zip(metrics, decoded):
        assert type(before.value) is type(after.value)
        assert after.time == before.time
    assert math.copysign(1, decoded[5].value) == -1  # -0.0 survives
    (nan,) = journal.decode(journal.encode([Metric("n", float("nan"), None, 1.0)]))
    assert math.isnan(nan.value)


def test_journal_decode_skips_damaged_lines(caplog: pytest.LogCaptureFixture) -> None:
    text = '["a",1,null,1.0,"scalar"]\n{broken\n\n["b",2,3,2.0,"scalar"]\n["c",1]\n'
    assert journal.decode(text, "part") == [Metric("a", 1, None, 1.0), Metric("b", 2, 3, 2.0)]
    assert "part:2" in caplog.text and "part:5" in caplog.text


def test_journal_part_names_sort_by_time_and_mark_rows() -> None:
    plain, rows = journal.part_name(False), journal.part_name(True)
    assert re.fullmatch(rf"\d{{20}}-{os.getpid()}-[0-9a-f]{{6}}\.jsonl", plain)
    assert re.fullmatch(rf"\d{{20}}-{os.getpid()}-[0-9a-f]{{6}}\.rows\.jsonl", rows)
    assert plain[:20] <= rows[:20]


def test_build_table_unions_columns_in_first_seen_order() -> None:
    rows = [{"b": 1, "a": "x"}, {"c": 2.5}, {"a": "y", "b": float("nan")}]
    assert tables.build_table(rows) == {
        "columns": ["b", "a", "c"], "data": [[1, "x", None], [None, None, 2.5], [None, "y", None]]}


def test_table_json_matches_mlflow_log_table_format() -> None:
    import pandas as pd

    table = tables.build_table([{"x": 1, "y": "a"}, {"x": 2, "y": "b"}])
    expected = json.loads(pd.DataFrame(table["data"], columns=table["columns"])
                          .to_json(orient="split", index=False))
    assert table == expected


def test_merge_logged_artifacts_appends_once() -> None:
    existing = json.dumps([{"path": "eval.json", "type": "table"}])
    merged = tables.merge_logged_artifacts(existing, ["tables/a.json", "eval.json"])
    assert json.loads(merged) == [{"path": "eval.json", "type": "table"}, {"path": "tables/a.json", "type": "table"}]
    assert tables.merge_logged_artifacts(merged, ["tables/a.json"]) is None
    assert json.loads(tables.merge_logged_artifacts("not json", ["t.json"])) == [{"path": "t.json", "type": "table"}]


def test_group_rows_keeps_only_rows() -> None:
    metrics = [Metric("t", {"a": 1}, None, 1.0, ROW), Metric("s", 1, None, 2.0), Metric("t", {"b": 2}, None, 3.0, ROW)]
    assert tables.group_rows(metrics) == {"t": [{"a": 1}, {"b": 2}]}


def test_fit_json_shortens_long_strings_fairly() -> None:
    error = {"error": {"code": "UserError", "message": "m" * 20000,
                       "debug_info": {"type": "KeyError", "stack_trace": "s\n" * 9000}}}
    text = fit_json(error, 8000)
    parsed = json.loads(text)
    assert len(text) <= 8000
    assert parsed["error"]["code"] == "UserError" and parsed["error"]["debug_info"]["type"] == "KeyError"
    assert parsed["error"]["message"].startswith("m" * 1000) and parsed["error"]["message"].endswith("[truncated]")
    assert parsed["error"]["debug_info"]["stack_trace"].startswith("s\n" * 500)
    small = {"error": {"code": "E", "message": "short"}}
    assert json.loads(fit_json(small, 8000)) == small
    crowded = {"error": {"code": "E", "message": "x", "details": [{"k": str(i)} for i in range(5000)]}}
    assert json.loads(fit_json(crowded, 8000))["error"] == {"code": "E", "message": "x"}


def test_journal_dir_is_the_core_prefix() -> None:
    from aml_bridge.records import METRICS_JOURNAL_PREFIX

    assert posixpath.join(journal.JOURNAL_DIR, "") == METRICS_JOURNAL_PREFIX
