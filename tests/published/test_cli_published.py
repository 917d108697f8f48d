"""`aml-bridge pipeline publish FILE --name N`, `pipeline list-published`, `schedule list`."""

from __future__ import annotations

import json
import os

import pytest

from aml_bridge import Workspace, settings
from aml_bridge.cli import main
from aml_bridge.pipeline import PublishedPipeline, Schedule, ScheduleRecurrence


@pytest.fixture
def in_definition_folder(definition, monkeypatch):
    monkeypatch.chdir(os.path.dirname(definition))  # the list commands find aml-bridge.json here
    return definition


def test_publish_then_list_published_and_schedule_list(in_definition_folder, capsys):
    assert main(["pipeline", "publish", in_definition_folder, "--name", "cli-greeter", "--version", "3"]) == 0
    out = capsys.readouterr().out
    assert "Published pipeline cli-greeter (" in out and "/aml-bridge/pipelines/v1.0/PipelineRuns/PipelineSubmit/" in out
    ws = Workspace(config=settings.from_environment())
    (published,) = [p for p in PublishedPipeline.list(ws) if p.name == "cli-greeter"]
    assert published.version == "3" and published.id in out

    assert main(["pipeline", "list-published"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["ID", "NAME", "VERSION", "STATUS", "DAG", "ENDPOINT"]
    assert any(published.id in line and "cli-greeter" in line and "Active" in line for line in table.splitlines())

    published.disable()
    assert main(["pipeline", "list-published"]) == 0
    assert published.id not in capsys.readouterr().out
    assert main(["pipeline", "list-published", "--all", "--json"]) == 0
    records = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert records[published.id]["status"] == "Disabled"
    published.enable()

    schedule = Schedule.create(ws, "cli-daily", published.id, "cli-greeter",
                               recurrence=ScheduleRecurrence("Day", 1, "2026-01-01T06:30:00", "UTC"))
    assert main(["schedule", "list", "--pipeline-id", published.id]) == 0
    table = capsys.readouterr().out
    (row,) = [line for line in table.splitlines() if schedule.id in line]
    assert "cli-daily" in row and "Active" in row and "every 1 Day" in row and schedule.dag_id in row


def test_publish_reports_a_broken_definition(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no workspace here')\n")
    assert main(["pipeline", "publish", str(broken), "--name", "x"]) == 1
    assert "no workspace here" in capsys.readouterr().err
