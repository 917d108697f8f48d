"""Unchanged Azure imports: `azureml.pipeline.steps` and `azure.ai.ml.parallel`; other `azure.*` unharmed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import aml_bridge.compat


def _run(code: str, *path_first: str, cwd: Path) -> str:
    prefix = "".join(f"import sys; sys.path.insert(0, {p!r})\n" for p in reversed(path_first))
    done = subprocess.run([sys.executable, "-c", prefix + textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_v1_and_v2_names_resolve_to_aml_bridge(tmp_path: Path) -> None:
    out = _run("""
        import sys
        from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep, PythonScriptStep
        from azureml.pipeline.steps.parallel_run_config import ParallelRunConfig as Config
        from azureml.pipeline.steps.parallel_run_step import ParallelRunStep as Step
        from azure.ai.ml import Input, Output, parallel
        from azure.ai.ml.parallel import ParallelTask, RetrySettings, RunFunction, parallel_run_function
        import aml_bridge.parallel as p, aml_bridge.pipeline as q
        assert Config is ParallelRunConfig is p.ParallelRunConfig and Step is ParallelRunStep is p.ParallelRunStep
        assert PythonScriptStep is q.PythonScriptStep and parallel.RunFunction is RunFunction is p.RunFunction
        assert (Input, Output, ParallelTask, RetrySettings) == (p.Input, p.Output, p.ParallelTask, p.RetrySettings)
        node = parallel_run_function(mini_batch_size="5kb", task=RunFunction(entry_script="s.py"))
        print(node.mini_batch_size, sorted(m for m in ("mlflow", "airflow", "pandas") if m in sys.modules))
    """, aml_bridge.compat.path(), cwd=tmp_path)
    assert out == "5120 []"


def test_other_azure_packages_stay_importable_beside_the_compat_azure(tmp_path: Path) -> None:
    """`azure` and `azure.ai` are shared namespaces: PEP 420 portions and pkgutil-style ones both still load."""
    pep420, legacy = tmp_path / "pep420", tmp_path / "legacy"
    for root, module in ((pep420, "azure/storage/blob"), (pep420, "azure/ai/formrecognizer"),
                         (legacy, "azure/legacy_pkg")):
        (root / module).mkdir(parents=True)
        (root / module / "__init__.py").write_text(f"WHERE = {str(root)!r}\n")
    (legacy / "azure" / "__init__.py").write_text("__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n")
    out = _run("""
        import azure.storage.blob, azure.ai.formrecognizer, azure.legacy_pkg, azure.ai.ml.parallel
        print(azure.storage.blob.WHERE.endswith("pep420"), azure.ai.formrecognizer.WHERE.endswith("pep420"),
              azure.legacy_pkg.WHERE.endswith("legacy"), azure.ai.ml.parallel.__name__)
    """, aml_bridge.compat.path(), str(pep420), str(legacy), cwd=tmp_path)
    assert out == "True True True azure.ai.ml.parallel"


def test_azure_is_not_importable_without_the_compat_path() -> None:
    assert aml_bridge.compat.path() not in sys.path
    spec = importlib.util.find_spec("azure")
    assert spec is None or not any(aml_bridge.compat.path() in p for p in spec.submodule_search_locations or [])
    assert os.path.isfile(os.path.join(aml_bridge.compat.path(), "azure", "ai", "ml", "parallel", "__init__.py"))


DEFINITION = """\
from azureml.core import Dataset, Environment, Experiment, Workspace
from azureml.data import OutputFileDatasetConfig
from azureml.pipeline.core import Pipeline, PipelineParameter
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

ws = Workspace.from_config()
images = Dataset.File.from_files(path="images")
config = ParallelRunConfig(source_directory="scripts", entry_script="score.py", mini_batch_size="5",
                           error_threshold=10, output_action="append_row", environment=Environment("batch-env"),
                           compute_target="cpu-cluster", node_count=2, process_count_per_node=2)
step = ParallelRunStep(name="batch-score", parallel_run_config=config,
                       inputs=[images.as_named_input("images")], output=OutputFileDatasetConfig("scores"),
                       arguments=["--model", "m", "--top", PipelineParameter("top", 3)], allow_reuse=True)
Experiment(ws, "batch").submit(Pipeline(ws, [step]))
"""


def test_an_unchanged_v1_definition_script_plans_a_parallel_step(tmp_path: Path) -> None:
    """Loaded in a subprocess: the loader leaves `azureml` in `sys.modules`, which must not leak into this one."""
    (tmp_path / "aml-bridge.json").write_text(json.dumps({"home": str(tmp_path / "home")}))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "score.py").write_text("def run(mini_batch):\n    return mini_batch\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_text("a")
    (tmp_path / "define.py").write_text(DEFINITION)
    out = _run(f"""
        import json
        from aml_bridge.pipeline.loader import load_pipeline
        loaded = load_pipeline({str(tmp_path / "define.py")!r})
        step = loaded.pipeline.plan().step("batch-score")
        print(json.dumps([loaded.options["experiment_name"], step.kind, step.script, step.source_directory,
                          step.extra]))
    """, cwd=tmp_path)
    experiment, kind, script, source, extra = json.loads(out)
    assert (experiment, kind, script, source) == ("batch", "parallel_run", "score.py", str(tmp_path / "scripts"))
    assert {k: extra[k] for k in ("inputs", "output", "mini_batch_size", "node_count", "process_count_per_node",
                                  "environment", "parameters")} == {
        "inputs": ["images"], "output": "scores", "mini_batch_size": 5, "node_count": 2,
        "process_count_per_node": 2, "environment": "batch-env", "parameters": {}}
