"""`aml-bridge pipeline publish FILE --name N`, `pipeline list-published`, `schedule list`.

`publish` loads FILE like `pipeline run` does (its submit/publish captured) and registers it as a
published pipeline whose DAG re-runs FILE at parse time. The list commands read the records the
provider keeps in the DAGs folder of the workspace found from the current directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def register_pipeline_commands(group: Any) -> None:
    """Subcommands of `aml-bridge pipeline` (called by cli_pipeline.register)."""
    publish = group.add_parser("publish", help="publish the pipeline as a DAG Airflow keeps serving")
    publish.add_argument("file", help="the pipeline definition (.py)")
    publish.add_argument("--name", "-n", required=True, help="name of the published pipeline")
    publish.add_argument("--description", help="description (default: the pipeline's)")
    publish.add_argument("--version", help="free-form version string")
    publish.add_argument("--continue-on-step-failure", action="store_true", default=None,
                         help="keep starting independent steps after a step failed")
    publish.set_defaults(func=_publish)
    listed = group.add_parser("list-published", help="published pipelines: id, name, version, status, endpoint")
    listed.add_argument("--all", action="store_true", help="include disabled pipelines")
    listed.add_argument("--json", action="store_true", help="print JSON records")
    listed.set_defaults(func=_list_published)


def register(subparsers: Any) -> None:
    """`aml-bridge schedule list`."""
    p = subparsers.add_parser("schedule", help="schedules of published pipelines")
    group = p.add_subparsers(title="schedule commands", metavar="COMMAND")
    listed = group.add_parser("list", help="schedules: id, name, status, pipeline, trigger")
    listed.add_argument("--all", action="store_true", help="include disabled schedules")
    listed.add_argument("--pipeline-id", help="only schedules of this published pipeline")
    listed.add_argument("--json", action="store_true", help="print JSON records")
    listed.set_defaults(func=_list_schedules)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _publish(args: argparse.Namespace) -> int:
    from .cli_pipeline import load

    loaded = load(args.file)
    if loaded is None:
        return 1
    try:
        published = _publish_file(loaded, args)
    except Exception as exc:  # the definition is user code: report any error with its message
        print(f"aml-bridge pipeline publish: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"Published pipeline {published.name} ({published.id})\n  DAG: {published.dag_id}\n"
          f"  endpoint: {published.endpoint}")
    return 0


def _publish_file(loaded: Any, args: argparse.Namespace) -> Any:
    from .pipeline.published import publish_pipeline

    return publish_pipeline(loaded.pipeline, args.name, args.description, args.version,
                            args.continue_on_step_failure, definition=os.path.abspath(args.file))


def _list_published(args: argparse.Namespace) -> int:
    from .pipeline import PublishedPipeline

    found = PublishedPipeline.list(_workspace(), active_only=not args.all)
    if args.json:
        print(json.dumps([p._record for p in found], indent=2, sort_keys=True))
        return 0
    rows = [(p.id, p.name, p.version or "", p.status, p.dag_id, p.endpoint) for p in found]
    _table(("ID", "NAME", "VERSION", "STATUS", "DAG", "ENDPOINT"), rows)
    return 0


def _list_schedules(args: argparse.Namespace) -> int:
    from .pipeline import Schedule

    found = Schedule.list(_workspace(), active_only=not args.all, pipeline_id=args.pipeline_id)
    if args.json:
        print(json.dumps([s._record for s in found], indent=2, sort_keys=True))
        return 0
    _table(("ID", "NAME", "STATUS", "PIPELINE", "TRIGGER", "DAG"),
           [(s.id, s.name, s.status, s.pipeline_id, _trigger(s), s.dag_id) for s in found])
    return 0


def _trigger(schedule: Any) -> str:
    recurrence = schedule.recurrence
    if recurrence is None:
        return f"data change {schedule.datastore_name}:{schedule.path_on_datastore} every {schedule.polling_interval} min"
    text = f"every {recurrence.interval} {recurrence.frequency}"
    extras = {k: v for k, v in recurrence.to_dict().items() if k not in ("frequency", "interval") and v}
    return text + "".join(f" {k}={v}" for k, v in extras.items())


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        print("(none)")
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _workspace() -> Any:
    from .workspace import Workspace

    return Workspace.from_config()


__all__ = ["register", "register_pipeline_commands"]
