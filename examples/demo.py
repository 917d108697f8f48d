"""`make demo`: run the example training script as a tracked run and show what landed in MLflow.

Everything goes to the embedded store under ./.aml-bridge (SQLite + local artifacts); no server runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    os.chdir(ROOT)
    script = ROOT / "examples" / "train" / "train.py"
    print(f"$ aml-bridge run {script.relative_to(ROOT)} --C 0.5 --experiment iris-demo", flush=True)
    cli = Path(sys.executable).with_name("aml-bridge")
    done = subprocess.run([str(cli), "run", "--experiment", "iris-demo", str(script), "--C", "0.5"],
                          capture_output=True, text=True)
    print(done.stdout, end="")
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    run_id = next(line.split()[-1] for line in done.stdout.splitlines() if line.startswith("Run id"))

    from aml_bridge import Model, Run, Workspace

    ws = Workspace.from_config()
    run = Run.get(ws, run_id)
    print(f"\nRun {run.id} ({run.get_status()}) read back through the Azure ML API:")
    for name, value in run.get_metrics().items():
        print(f"  {name:<18} {value}")
    print(f"  files: {', '.join(run.get_file_names())}")
    model = Model(ws, "iris-classifier")
    print(f"  registered model: {model.name} version {model.version}")
    print("\nLook at it in the MLflow UI:")
    print(f"  .venv/bin/mlflow ui --backend-store-uri {ws.get_mlflow_tracking_uri()} --port 5000")
    print(f"  then open {run.get_portal_url()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
