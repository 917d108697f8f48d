"""`aml-bridge pipeline validate|show|run FILE`: an unchanged Azure ML pipeline definition, from a shell.

FILE is loaded with `load_pipeline` (the definition runs, its `submit` is captured), so these
commands see exactly the pipeline the DAG file `pipeline_dag_from_file(FILE)` would build.
The definition's own prints go to stderr: `show --json` keeps stdout pure JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Iterator
from typing import Any

# The provider's start/end task ids (airflow_provider.operators): reserved here too, so `show`
# prints the DAG's task ids without importing Airflow.
RESERVED_TASK_IDS = ("aml_pipeline_start", "aml_pipeline_end")
ERROR_LINES = 8  # of a failed step's message (it ends with the tail of the script's stderr)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("pipeline", help="validate, show or run an Azure ML pipeline definition",
                              description="FILE is a pipeline definition written for Azure ML (it builds a "
                                          "Pipeline and submits it); it runs with the azureml compat package "
                                          "and its submission is captured.")
    group = p.add_subparsers(title="pipeline commands", metavar="COMMAND")
    validate = group.add_parser("validate", help="build the pipeline and report definition errors")
    validate.add_argument("file", help="the pipeline definition (.py)")
    validate.set_defaults(func=_validate)
    show = group.add_parser("show", help="the plan: steps in order, ports, edges, parameters")
    show.add_argument("file", help="the pipeline definition (.py)")
    show.add_argument("--json", action="store_true", help="print the plan JSON the DAG is built from")
    show.set_defaults(func=_show)
    run = group.add_parser("run", help="run the pipeline now through the embedded Airflow (dag.test)")
    run.add_argument("file", help="the pipeline definition (.py)")
    run.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE", type=_param,
                     help="pipeline parameter value (JSON if it parses, else a string); repeatable")
    run.add_argument("--experiment", "-e", help="experiment name (default: the definition's, else the file's)")
    run.add_argument("--regenerate-outputs", action="store_true", default=None, help="disable reuse for this run")
    run.add_argument("--continue-on-step-failure", action="store_true", default=None,
                     help="keep starting independent steps after a step failed")
    run.add_argument("--log-file", metavar="PATH", help="send Airflow's and the steps' output to PATH, "
                                                        "print only the summary")
    run.set_defaults(func=_run)
    from .cli_published import register_pipeline_commands

    register_pipeline_commands(group)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


def load(path: str) -> Any:
    """The LoadedPipeline of `path`, or None after printing why it could not be built."""
    from .pipeline.loader import load_pipeline

    try:
        with contextlib.redirect_stdout(sys.stderr):
            return load_pipeline(path)
    except Exception as exc:  # the definition is user code: any error means "invalid", with its message
        print(f"{path}: INVALID\n  {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


# --- validate ----------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    loaded = load(args.file)
    if loaded is None:
        return 1
    errors = loaded.pipeline.validate()
    if errors:
        print(f"{args.file}: INVALID", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    plan = loaded.pipeline.plan(reserved_task_ids=RESERVED_TASK_IDS)
    print(f"{args.file}: OK ({len(plan.steps)} steps: {', '.join(s.task_id for s in plan.steps)})")
    return 0


# --- show --------------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    loaded = load(args.file)
    if loaded is None:
        return 1
    try:
        plan = loaded.pipeline.plan(reserved_task_ids=RESERVED_TASK_IDS)
    except Exception as exc:
        print(f"{args.file}: INVALID\n  {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(plan.to_json(indent=2))
        return 0
    print("\n".join(describe(loaded, plan, args.file)))
    return 0


def describe(loaded: Any, plan: Any, path: str) -> list[str]:
    """The plan as text: header, parameters, then each step with its ports and edges."""
    from airflow_provider.plugin import compute_placement

    options = loaded.options
    lines = [f"Pipeline {path}" + (f": {plan.description}" if plan.description else "")]
    if options.get("experiment_name"):
        lines.append(f"  experiment: {options['experiment_name']} (from the definition's submit)")
    lines.append(f"  default datastore: {plan.default_datastore}")
    lines.append("Parameters:" if plan.parameters else "Parameters: (none)")
    for name, default in plan.parameters.items():
        submitted = loaded.parameters.get(name, default)
        note = f", the definition submits {json.dumps(submitted)}" if submitted != default else ""
        lines.append(f"  {name} = {json.dumps(default)} ({plan.parameter_kinds.get(name, '?')}{note})")
    workspace = {"workspace": {"extra": getattr(getattr(loaded.pipeline.workspace, "config", None), "extra", {})}}
    lines.append("Steps (run order):")
    for number, step in enumerate(plan.steps, 1):
        lines.append(f"  {number}. {step.name}" + (f"  [task {step.task_id}]" if step.task_id != step.name else ""))
        lines.append(f"     script: {step.script}  in {step.source_directory}")
        if step.compute_target:
            placement = compute_placement(workspace, step.compute_target)
            where = ", ".join(f"{k} {v}" for k, v in placement.items()) or "Airflow defaults"
            lines.append(f"     compute: {step.compute_target} -> {where}")
        lines.append(f"     arguments: {_arguments(step) or '(none)'}")
        lines += [f"     env AML_PARAMETER_{k} = {_param_text(v)}" for k, v in step.params.items()]
        lines += [f"     input  {i.name} <- {_source(i)} ({i.mode})" for i in step.inputs]
        lines += [f"     output {o.name} -> {o.datastore}:{_path(o)} ({o.mode})" for o in step.outputs]
        lines.append(f"     upstream: {', '.join(step.upstream) or '(none: starts first)'}"
                     + ("" if step.allow_reuse else "; reuse disabled"))
    return lines


def _arguments(step: Any) -> str:
    outputs = {o.name for o in step.outputs}
    items = []
    for arg in step.arguments:
        if arg.kind == "literal":
            items.append(shlex.quote(arg.value))
        elif arg.kind == "parameter":
            items.append(f"<parameter {arg.value}>")
        else:
            items.append(f"<{'output' if arg.value in outputs else 'input'} {arg.value}>")
    return " ".join(items)


def _param_text(param: Any) -> str:
    return f"<parameter {param.value}>" if param.kind == "parameter" else repr(param.value)


def _source(inp: Any) -> str:
    if inp.producer:
        return f"step {inp.producer} output {inp.output}"
    source = inp.source or {}
    if source.get("type") == "datastore":
        return f"datastore {source.get('datastore')}:{source.get('path', '')}"
    if source.get("type") == "dataset":
        return f"dataset {source.get('id')}"
    if source.get("type") == "parameter":
        return f"parameter {source.get('name')}"
    return "(external)"


def _path(output: Any) -> str:
    return output.path_template.replace("{run-id}", "<step run id>").replace("{output-name}", output.name)


# --- run ---------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from .cli import experiment_name_for

    loaded = load(args.file)
    if loaded is None:
        return 1
    options = loaded.options
    experiment = args.experiment or options.get("experiment_name") or experiment_name_for(args.file)
    parameters = {**loaded.parameters, **dict(args.param)}
    flags = {key: bool(options.get(key)) if getattr(args, key) is None else getattr(args, key)
             for key in ("continue_on_step_failure", "regenerate_outputs")}
    try:
        with _output_to(args.log_file):
            run = loaded.pipeline.submit(experiment, pipeline_parameters=parameters, tags=loaded.tags, **flags)
    except Exception as exc:
        print(f"aml-bridge pipeline run: {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.log_file:
            print(f"Full output: {args.log_file}", file=sys.stderr)
        return 1
    status = run.get_status()
    print(f"Pipeline run {run.id} ({experiment}): {status}")
    for step in sorted(run.get_steps(), key=lambda s: s._record.start_time or 0):
        reused = step.get_tags().get("azureml.reusedrunid")
        print(f"  {step.name:<20} {step.get_status()}" + (f" (reused run {reused})" if reused else ""))
        error = (step.get_details().get("error") or {}).get("error", {}).get("message")
        if error:
            print("\n".join(f"      {line}" for line in error.strip().splitlines()[-ERROR_LINES:]))
    print(f"MLflow: {run.get_portal_url()}")
    if args.log_file:
        print(f"Full output: {args.log_file}")
    return 0 if status == "Completed" else 1


@contextlib.contextmanager
def _output_to(path: str | None) -> Iterator[None]:
    """Send everything written meanwhile to `path`: file descriptors 1 and 2 (Airflow's task
    runner, step processes) and `sys.stdout`/`sys.stderr` (in case they are not those descriptors)."""
    if not path:
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            log.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


__all__ = ["RESERVED_TASK_IDS", "describe", "load", "register"]
