"""Several nodes on one work folder (what the node tasks of a step do): shared ledger, one output,
and a threshold breach in one node stops the others."""

from __future__ import annotations

import json
from pathlib import Path

from aml_bridge.parallel.driver import STOP_FILE, run_node, summarise, write_manifest
from aml_bridge.parallel.manifest import file_batches

SCORE = '''
    def run(mini_batch):
        names = [os.path.basename(p) for p in mini_batch]
        note(event="run", node=os.environ["AML_BRIDGE_NODE_ID"], files=names)
        if os.environ.get("FAIL_ON") in names:
            raise ValueError("bad file")
        return names
'''


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_nodes_share_the_ledger_and_gather_once(script, make_settings, files, side_log, tmp_path) -> None:
    settings = make_settings(script(SCORE), node_count=2)
    paths = files(20)
    work, out = str(tmp_path / "work"), str(tmp_path / "out")
    write_manifest(work, file_batches(paths, 2))
    first = run_node(settings, work, out, 2, node=0)
    second = run_node(settings, work, out, 2, node=1)  # finds nothing left: the ledger says all is done
    summary = summarise(settings, work, out, [first, second])

    assert (first.reason, second.reason, summary.status) == (None, None, "Completed")
    runs = [e for e in _events(side_log) if e["event"] == "run"]
    assert len(runs) == 10 and {e["node"] for e in runs} == {"0"}
    lines = Path(summary.output_file).read_text().splitlines()
    assert sorted(lines) == sorted(Path(p).name for p in paths)


def test_a_breach_in_one_node_stops_the_others(script, make_settings, files, side_log, tmp_path,
                                               monkeypatch) -> None:
    monkeypatch.setenv("FAIL_ON", "f0000.txt")
    settings = make_settings(script(SCORE), node_count=2, allowed_failed_count=0, run_max_try=1,
                             process_count_per_node=1)
    work, out = str(tmp_path / "work"), str(tmp_path / "out")
    write_manifest(work, file_batches(files(40), 2))
    first = run_node(settings, work, out, 1, node=0)
    assert first.reason and "allowed_failed_count 0" in first.reason
    assert (Path(work) / STOP_FILE).read_text() == first.reason
    ran_before = len(_events(side_log))
    second = run_node(settings, work, out, 1, node=1)

    assert second.reason == first.reason
    assert len(_events(side_log)) == ran_before  # it started no worker
    summary = summarise(settings, work, out, [first, second])
    assert summary.status == "Failed" and summary.reason == first.reason and 0 in summary.failed_mini_batches
