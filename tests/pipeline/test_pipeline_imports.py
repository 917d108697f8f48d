"""Import weight and the compat packages (both checked in fresh subprocesses)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import aml_bridge.compat

HEAVY = ("pandas", "mlflow", "airflow", "boto3", "pyarrow", "numpy")


def _run(code: str, *path_first: str, cwd: Path | None = None) -> str:
    prefix = "".join(f"import sys; sys.path.insert(0, {p!r})\n" for p in path_first)
    result = subprocess.run([sys.executable, "-c", prefix + textwrap.dedent(code)], capture_output=True,
                            text=True, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_pipeline_and_data_import_nothing_heavy() -> None:
    out = _run(f"""
        import sys
        import aml_bridge.pipeline, aml_bridge.pipeline.resolve, aml_bridge.pipeline.fingerprint
        import aml_bridge.data
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    assert out == "[]"


def test_building_a_plan_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    out = _run(f"""
        import sys
        from types import SimpleNamespace
        from aml_bridge import settings
        from aml_bridge.pipeline import Pipeline, PipelineData, PipelineParameter, PythonScriptStep
        ws = SimpleNamespace(config=settings.resolve(home={str(tmp_path / 'home')!r}))
        data = PipelineData("p")
        a = PythonScriptStep("train.py", arguments=[data, PipelineParameter("lr", 1)], outputs=[data])
        Pipeline(ws, [a]).plan().to_json()
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """, cwd=tmp_path)
    assert out == "[]"


def test_unchanged_azure_imports_resolve_to_aml_bridge(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    out = _run("""
        from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter, StepSequence
        from azureml.pipeline.core.graph import PipelineParameter as GraphParameter
        from azureml.pipeline.core.builder import StepSequence as BuilderSequence
        from azureml.pipeline.steps import PythonScriptStep
        from azureml.data import OutputFileDatasetConfig, DataType, FileDataset, TabularDataset
        from azureml.data.data_reference import DataReference
        from azureml.data.datapath import DataPath, DataPathComputeBinding
        from azureml.data.dataset_consumption_config import DatasetConsumptionConfig
        from azureml.data.output_dataset_config import OutputFileDatasetConfig as Ofdc
        from azureml.data.dataset_factory import DataType as FactoryType
        import aml_bridge.pipeline as p, aml_bridge.data as d
        assert Pipeline is p.Pipeline and GraphParameter is p.PipelineParameter is PipelineParameter
        assert BuilderSequence is StepSequence is p.StepSequence and PythonScriptStep is p.PythonScriptStep
        assert Ofdc is OutputFileDatasetConfig is d.OutputFileDatasetConfig and FactoryType is DataType
        assert DataReference is d.DataReference and DataPath is d.DataPath
        assert DatasetConsumptionConfig is d.DatasetConsumptionConfig
        data = PipelineData("p1")
        print(str(data), PythonScriptStep("train.py", arguments=[data], outputs=[data]).name)
    """, aml_bridge.compat.path(), cwd=tmp_path)
    assert out == "$AZUREML_DATAREFERENCE_p1 train.py"


def test_compat_package_is_not_importable_without_the_path() -> None:
    result = subprocess.run([sys.executable, "-c", "import azureml.pipeline"], capture_output=True, text=True)
    assert result.returncode != 0 and "No module named 'azureml'" in result.stderr
