"""aml-bridge's MLflow backend: runs, typed metrics, artifacts and models stored in MLflow.

`hooks` is the pluggy plugin (entry point `aml_bridge: mlflow`); it imports mlflow only inside
hook bodies so `import aml_bridge` stays fast. `context` is MLflow's own run-context plugin.
"""
