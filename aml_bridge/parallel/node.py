"""`python -m aml_bridge.parallel.node WORK_DIR NODE`: one node of a parallel step, as the node task's subprocess.

A process of its own because the driver forks its workers: the Airflow task process has threads
(its supervisor link, the metric writer) that a fork must not copy mid-lock. It dies with the
task (PDEATHSIG), resumes from the ledger, writes `nodes/<NODE>.json` and exits 1 when it stopped
the step (a threshold breach, or init() failing every time).
"""

from __future__ import annotations

import sys

from ..execution.parallel_steps import NodeSpec, write_node_result
from .driver import NodeResult, run_node
from .model_task import ModelInputError
from .worker import _die_with_parent


def main(argv: list[str] | None = None) -> int:
    work_dir, node = (argv if argv is not None else sys.argv[1:])[:2]
    _die_with_parent()
    _warm_imports()
    spec = NodeSpec.read(work_dir)
    try:
        result = run_node(spec.parallel, work_dir, spec.output_path, spec.processes, user_args=spec.user_args,
                          node=int(node))
    except ModelInputError as exc:  # the model step's pre-flight: nothing ran, the reason names the problem
        result = NodeResult(str(exc), 0, 0.0)
    write_node_result(work_dir, node, result)
    if result.reason:
        print(f"[aml-bridge] node{node} stopped the step: {result.reason}", file=sys.stderr, flush=True)
        return 1
    return 0


def _warm_imports() -> None:
    """Import MLflow and the plugins once here, before the fork, instead of once per worker.

    Entry scripts call `Run.get_context()`, and `import mlflow` costs each process ~2.5 s of CPU;
    forked workers share this process's modules. Importing it starts no thread (checked), so the
    fork stays safe.
    """
    try:
        import mlflow  # noqa: F401

        from ..plugins import get_plugin_manager

        get_plugin_manager()
    except ImportError:
        pass


if __name__ == "__main__":
    raise SystemExit(main())
