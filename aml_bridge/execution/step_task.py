"""A step attempt as plain JSON, and the entry point that runs one inside a container.

The Airflow side gathers what an attempt needs (pipeline run id, parameter values, upstream
results, try number) into a `task` dict; `execution_for` turns it into a `StepExecution` in the
worker, and `python -m aml_bridge.execution.step_task TASK` does the same inside a container
(a Kubernetes pod or a Docker container), so both run exactly the same step code. In a
container the result goes to Airflow's XCom file (`/airflow/xcom/return.json`, read by the pod
operator) and, as the last stdout line, to the Docker operator.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

XCOM_FILE = "/airflow/xcom/return.json"


def encode(task: dict[str, Any]) -> str:
    """The task as one argv-safe token (no braces for Jinja, no quoting for a shell)."""
    return base64.urlsafe_b64encode(json.dumps(task, sort_keys=True).encode()).decode()


def decode(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.encode()))


def execution_for(task: dict[str, Any]) -> Any:
    """The `StepExecution` a task dict describes."""
    from ..pipeline.plan import StepPlan
    from ..run import Run
    from ..settings import WorkspaceConfig
    from ..workspace import Workspace
    from .steps import StepExecution

    workspace = Workspace(config=WorkspaceConfig(**task["workspace"]))
    pipeline_run = Run.get(workspace, task["pipeline_run_id"])
    return StepExecution(workspace, StepPlan.from_dict(task["step"]), pipeline_run, task["parameters"],
                         task["upstream"], bool(task["regenerate_outputs"]), int(task["map_index"]),
                         int(task["try_number"]))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the step; 0 with the result as the last stdout line, 1 when the step failed."""
    from .steps import StepFailed

    parser = argparse.ArgumentParser(prog="python -m aml_bridge.execution.step_task")
    parser.add_argument("task", help="the encoded task (see encode)")
    parser.add_argument("--xcom-file", default=XCOM_FILE if os.path.isdir(os.path.dirname(XCOM_FILE)) else None)
    args = parser.parse_args(argv)
    try:
        result = execution_for(decode(args.task)).execute().to_xcom()
    except StepFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.xcom_file:
        with open(args.xcom_file, "w") as fh:
            json.dump(result, fh)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
