"""A pipeline definition file written as for Azure ML (azureml imports), and a workspace for it."""

from __future__ import annotations

import json
import textwrap

import pytest

from aml_bridge import Workspace, settings

DEFINITION = textwrap.dedent('''
    """Greeter: one step that records its parameters and the tags of its pipeline run."""
    import os

    from azureml.core import Workspace
    from azureml.pipeline.core import Pipeline, PipelineParameter
    from azureml.pipeline.steps import PythonScriptStep

    ws = Workspace.from_config()
    here = os.path.dirname(os.path.abspath(__file__))
    greeting = PipelineParameter(name="greeting", default_value="hello")
    count = PipelineParameter(name="count", default_value=1)
    step = PythonScriptStep(name="greet", script_name="greet.py", source_directory=os.path.join(here, "src"),
                            arguments=["--greeting", greeting, "--count", count], allow_reuse=False)
    pipeline = Pipeline(ws, [step], description="says hello")
''')

STEP = textwrap.dedent('''
    import argparse
    from azureml.core import Run
    run = Run.get_context()
    p = argparse.ArgumentParser(); p.add_argument("--greeting"); p.add_argument("--count", type=int)
    a = p.parse_args()
    run.log("greeting", a.greeting)
    run.log("count", a.count)
    run.log("team", run.parent.get_tags().get("team", "none"))
''')


@pytest.fixture(scope="module")
def definition(tmp_path_factory, shared_home) -> str:
    folder = tmp_path_factory.mktemp("greeter")
    (folder / "src").mkdir()
    (folder / "src" / "greet.py").write_text(STEP)
    (folder / "pipeline.py").write_text(DEFINITION)
    (folder / "aml-bridge.json").write_text(json.dumps({"home": shared_home}))
    return str(folder / "pipeline.py")


@pytest.fixture(scope="module")
def module_ws(shared_home) -> Workspace:
    return Workspace(config=settings.resolve(home=shared_home))
