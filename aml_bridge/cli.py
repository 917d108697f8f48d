"""The `aml-bridge` command: run a script as a tracked run, and look at runs.

Subcommand groups register themselves: each entry of `REGISTRARS` is `"module:function"`, called
with argparse's subparsers. A later group (pipelines) adds its own module here, nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

REGISTRARS = ["aml_bridge.cli:register_run", "aml_bridge.cli:register_runs", "aml_bridge.cli_pipeline:register",
              "aml_bridge.cli_published:register"]
RUN_TYPE = "azureml.scriptrun"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (the script's for `run`)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        build_parser().print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `aml-bridge runs list | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse; for `run`, everything after the first `--` belongs to the script untouched, and
    `--experiment NAME` may also follow SCRIPT (`run train.py --C 0.5 --experiment e`)."""
    argv = list(argv)
    verbatim: list[str] = []
    if argv[:1] == ["run"] and "--" in argv:  # argparse would drop a `--` right after SCRIPT
        cut = argv.index("--")
        argv, verbatim = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    if getattr(args, "is_job", False):
        args.experiment, args.args = _take_experiment(args.args, args.experiment)
        args.args += verbatim
    return args


def _take_experiment(items: list[str], experiment: str | None) -> tuple[str | None, list[str]]:
    rest: list[str] = []
    items = list(items)
    while items:
        item = items.pop(0)
        if item == "--experiment" and items:
            experiment = items.pop(0)
        elif item.startswith("--experiment="):
            experiment = item.split("=", 1)[1]
        else:
            rest.append(item)
    return experiment, rest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aml-bridge", description="Azure ML SDK v1 code on MLflow and Airflow.")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for spec in REGISTRARS:
        module, _, name = spec.partition(":")
        getattr(importlib.import_module(module), name)(subparsers)
    return parser


# --- aml-bridge run ----------------------------------------------------------------------


def register_run(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="run a script as a tracked run",
                              usage="aml-bridge run SCRIPT [ARGS...] [--experiment NAME] [-- ARGS...]",
                              description="Run SCRIPT with the azureml compat package on its import path, as a "
                                          "tracked run. Arguments after SCRIPT are the script's, except "
                                          "--experiment NAME; after `--` everything is the script's.")
    p.add_argument("--experiment", "-e", help="experiment name (default: the script's name)")
    p.add_argument("--cwd", help="working directory of the script (default: the current directory)")
    p.add_argument("--attach", metavar="RUN_ID", help=argparse.SUPPRESS)  # Experiment.submit's detached runner
    p.add_argument("--command", action="store_true", help=argparse.SUPPRESS)  # SCRIPT is a program, not a .py
    p.add_argument("--job-spec", help=argparse.SUPPRESS)  # JobSpec JSON: environment, time limit, ranks
    p.add_argument("script", help="the Python script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    p.set_defaults(func=_run, is_job=True)


def _run(args: argparse.Namespace) -> int:
    from .launcher import launch

    ws = _workspace()
    cwd = os.path.abspath(args.cwd or os.getcwd())
    run = _job_run(ws, args)
    if not args.command and not os.path.isfile(os.path.join(cwd, args.script)):
        print(f"aml-bridge run: no such script: {args.script}", file=sys.stderr)
        if run is not None:
            from .run import error_response

            run._set_status("Failed", error_response(f"No such script: {args.script}"))
        return 2
    if run is None:
        from .experiment import Experiment

        name = args.experiment or experiment_name_for(args.script)
        run = _new_run(Experiment(ws, name), args.script)
    print(f"RunId: {run.id}\nWeb View: {run.get_portal_url()}\n", flush=True)
    code = launch(run, _job_argv(args), cwd, job=_job_spec(args.job_spec))
    print(f"\nExecution Summary\n=================\nRunId: {run.id}\nStatus: {run.get_status()}\n"
          f"Web View: {run.get_portal_url()}\nBrowse: {mlflow_ui_command(ws)}", flush=True)
    return code if code >= 0 else 128 - code  # a shell's convention for "killed by signal N"


def _job_run(ws: Any, args: argparse.Namespace) -> Any:
    """The run `Experiment.submit` created (`--attach`), now Running; None for a new run."""
    if not args.attach:
        return None
    from .run import Run

    run = Run.get(ws, args.attach)
    run._set_status("Running")
    return run


def _job_spec(path: str | None) -> Any:
    from .train.job import JobSpec

    if not path:
        return None
    with open(path) as fh:
        return JobSpec.from_dict(json.load(fh))


def _new_run(experiment: Any, script: str) -> Any:
    from .run import Run

    run_id = new_run_id(experiment.name)
    return Run._create(experiment, run_id=run_id, display_name=run_id, run_type=RUN_TYPE, target="local",
                       tags={"mlflow.source.name": script, "mlflow.source.type": "LOCAL"})


def _job_argv(args: argparse.Namespace) -> list[str]:
    """`python SCRIPT ARGS`; a command's leading `python` is this interpreter too (it has the compat path)."""
    if not args.command:
        return [sys.executable, args.script, *args.args]
    program = sys.executable if args.script in ("python", "python3") else args.script
    return [program, *args.args]


def experiment_name_for(script: str) -> str:
    """The script's stem made into a valid Azure experiment name (`^[a-zA-Z0-9][\\w-]{0,254}$`)."""
    stem = os.path.splitext(os.path.basename(script))[0]
    name = re.sub(r"[^\w\-]", "_", stem, flags=re.ASCII).lstrip("_-")
    return (name or "experiment")[:255]


def new_run_id(experiment: str) -> str:
    """Azure's id for submitted script runs: `<experiment>_<epoch>_<first 8 hex of a uuid4>`."""
    return f"{experiment}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def mlflow_ui_command(ws: Any) -> str:
    uri = ws.config.tracking_uri
    if uri.startswith(("http://", "https://")):
        return f"open {uri}"
    return f"mlflow ui --backend-store-uri {uri}"


# --- aml-bridge runs ---------------------------------------------------------------------


def register_runs(subparsers: Any) -> None:
    p = subparsers.add_parser("runs", help="inspect runs")
    group = p.add_subparsers(title="runs commands", metavar="COMMAND")
    show = group.add_parser("show", help="status and metrics of one run")
    show.add_argument("run_id", help="Azure-style or MLflow run id")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=_show)
    listing = group.add_parser("list", help="runs, newest first")
    listing.add_argument("--experiment", "-e", help="only this experiment")
    listing.add_argument("--limit", type=int, default=50, help="at most this many runs (default 50)")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(func=_list)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _show(args: argparse.Namespace) -> int:
    from .run import Run

    run = Run.get(_workspace(), args.run_id)
    metrics = run.get_metrics()
    if args.json:
        print(json.dumps({"id": run.id, "status": run.get_status(), "experiment": run.experiment.name,
                          "type": run.type, "metrics": metrics, "tags": run.get_tags(),
                          "properties": run.get_properties(), "files": run.get_file_names(),
                          "error": run.get_details().get("error")}, indent=2, default=str))
        return 0
    print(f"Run {run.id} ({run.experiment.name}): {run.get_status()}")
    print(f"Web View: {run.get_portal_url()}")
    rows = [(name, _short(value)) for name, value in sorted(metrics.items())]
    print(_table(("metric", "value"), rows) if rows else "(no metrics)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from .experiment import Experiment

    ws = _workspace()
    experiments = [Experiment(ws, args.experiment)] if args.experiment else list(ws.experiments.values())
    runs = [r for e in experiments for r in e.get_runs()]
    runs.sort(key=lambda r: r._record.start_time or 0, reverse=True)
    runs = runs[:args.limit]
    if args.json:
        print(json.dumps([{"id": r.id, "experiment": r.experiment.name, "status": r.status, "type": r.type,
                           "start_time": r._record.start_time} for r in runs], indent=2))
        return 0
    rows = [(r.id, r.experiment.name, r.status, r.type, _when(r._record.start_time)) for r in runs]
    print(_table(("run id", "experiment", "status", "type", "started"), rows) if rows else "(no runs)")
    return 0


# --- helpers -----------------------------------------------------------------------------


def _workspace() -> Any:
    from .workspace import Workspace

    return Workspace.from_config()


def _short(value: Any, width: int = 70) -> str:
    text = json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S") if timestamp else ""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


if __name__ == "__main__":  # `python -m aml_bridge.cli`: use the importable module, not a second copy
    from aml_bridge.cli import main as _main

    sys.exit(_main())
