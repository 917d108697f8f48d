"""`ParallelTask(type='model')` in the v2 API: the model reference forms and how the node is planned."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from aml_bridge.parallel import Input, Output, ParallelTask, RunFunction, parallel_run_function
from aml_bridge.parallel.model_ref import ModelReferenceError, model_uri
from aml_bridge.parallel.scripts import MODEL_SCORING_SCRIPT, builtin_scripts_dir
from aml_bridge.pipeline.errors import PipelineDefinitionError
from aml_bridge.records import ModelRecord


def _model_node(model, **task):
    return parallel_run_function(
        name="score", inputs={"rows": Input(type="mltable", mode="direct")}, outputs={"scores": Output()},
        input_data="${{inputs.rows}}",
        task=ParallelTask(type="model", model=model, **{"append_row_to": "${{outputs.scores}}", **task},
                          environment="azureml:sklearn-env:2"))


@pytest.mark.parametrize(("reference", "uri"), [
    ("models:/wine/3", "models:/wine/3"),
    ("models:/wine/latest", "models:/wine/latest"),
    ("models:/wine@champion", "models:/wine@champion"),
    ("models:/m-0123abcd", "models:/m-0123abcd"),
    ("runs:/0a1b2c/outputs/model", "runs:/0a1b2c/outputs/model"),
    ("azureml:wine:3", "models:/wine/3"),
    ("azureml:wine@production", "models:/wine@production"),
    ("azureml:wine", "models:/wine/latest"),
    ("  azureml:wine.v2:1 ", "models:/wine.v2/1"),
])
def test_model_reference_forms(reference, uri) -> None:
    assert model_uri(reference) == uri


def test_an_aml_bridge_model_is_its_registry_version() -> None:
    from aml_bridge import Model

    model = Model(None, _record=ModelRecord(name="wine", version=4))
    assert model_uri(model) == "models:/wine/4"


@pytest.mark.parametrize("reference", ["wine", "models:/", "runs:/abc", "azureml:", "azureml:wine:1:2",
                                       "s3://bucket/model", "", 7, None])
def test_bad_references_list_the_accepted_forms(reference) -> None:
    with pytest.raises(ModelReferenceError, match=r"use models:/<name>/<version or alias>.*runs:/<run_id>/<path>"):
        model_uri(reference)


def test_registry_uris_are_refused_with_a_hint() -> None:
    with pytest.raises(ModelReferenceError, match=r"register the model and use azureml:<name>:<version>"):
        model_uri("azureml://registries/azureml/models/wine/versions/1")


def test_model_node_plans_the_builtin_scoring_script(src) -> None:
    extra = _model_node("azureml:wine:3")._plan_extra()
    assert {k: extra[k] for k in ("model", "entry_script", "source_directory", "input_kind", "output_action",
                                  "output", "environment", "environment_version")} == {
        "model": "models:/wine/3", "entry_script": MODEL_SCORING_SCRIPT, "source_directory": builtin_scripts_dir(),
        "input_kind": "tabular", "output_action": "append_row", "output": "scores", "environment": "sklearn-env",
        "environment_version": "2"}
    assert os.path.isfile(os.path.join(extra["source_directory"], extra["entry_script"]))
    # the folder goes first on the workers' sys.path, so it holds nothing that could shadow a module
    assert sorted(p for p in os.listdir(builtin_scripts_dir()) if p.endswith(".py")) == [
        "__init__.py", MODEL_SCORING_SCRIPT]


def test_run_function_steps_plan_no_model(src) -> None:
    node = parallel_run_function(name="s", inputs={"d": Input()}, input_data="${{inputs.d}}",
                                 task=RunFunction(entry_script="score.py", model="models:/ignored/1"))
    assert node._plan_extra()["model"] is None  # a run_function's model is for its own script


def test_program_arguments_of_a_model_step_reach_the_driver(src) -> None:
    extra = _model_node("models:/wine/1", program_arguments="--error_threshold 5 --allowed_failed_percent 10")._plan_extra()
    assert (extra["error_threshold"], extra["allowed_failed_percent"], extra["arguments"]) == (5, 10, [])


@pytest.mark.parametrize(("task", "message"), [
    ({"model": None}, r"task type 'model' needs model="),
    ({"model": "wine"}, r"Parallel \[score\]: task\.model 'wine' is not a model reference"),
    ({"model": "models:/wine/1", "entry_script": "score.py"}, r"scores the model without user code"),
    ({"model": "models:/wine/1", "code": "."}, r"drop entry_script/code"),
    ({"model": "models:/wine/1", "append_row_to": None}, r"needs append_row_to=.*the predictions are its only"),
])
def test_invalid_model_tasks_fail_when_planned(src, task, message) -> None:
    model = task.pop("model")
    node = _model_node(model, **task)
    with pytest.raises(PipelineDefinitionError, match=message):
        node._plan_extra()


def test_planning_a_model_step_imports_no_mlflow(src) -> None:
    code = ("import sys\nfrom aml_bridge.parallel import *\n"
            "n = parallel_run_function(name='s', inputs={'r': Input(type='mltable')}, input_data='${{inputs.r}}',"
            " outputs={'s': Output()}, task=ParallelTask(type='model', model='azureml:wine:1',"
            " append_row_to='${{outputs.s}}'))\n"
            "n._plan_extra()\nassert 'mlflow' not in sys.modules and 'pandas' not in sys.modules, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=src)
