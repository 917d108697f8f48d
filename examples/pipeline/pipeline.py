"""An Azure ML pipeline definition, written exactly as for Azure ML: SDK v1 steps prepare -> train -> evaluate,
and an SDK v2 parallel node (`ParallelTask(type="model")`) that batch-scores the held-out rows with the
model the train step registered, with no scoring script.

With aml-bridge the file is run by `aml-bridge pipeline run pipeline.py`, or scheduled through the DAG
file beside it (`dag.py`). The v1 steps are unchanged Azure code; on Azure ML itself the v2 node would
need a v2 `@pipeline` around it, aml-bridge lets it sit in the v1 `Pipeline`, so a pipeline can move to
the model task one step at a time (the v1 `ParallelRunStep` form of this step is in README.md).
"""

import os

from azure.ai.ml import Input, Output
from azure.ai.ml.parallel import ParallelTask, RetrySettings, parallel_run_function
from azureml.core import Environment, Experiment, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.runconfig import RunConfiguration
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
datastore = ws.get_default_datastore()
source_directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")

cluster_name = "cpu-cluster"
try:
    compute_target = ComputeTarget(workspace=ws, name=cluster_name)
    print(f"Found existing compute target {cluster_name}")
except ComputeTargetException:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_DS3_V2", max_nodes=4)
    compute_target = ComputeTarget.create(ws, cluster_name, config)
    compute_target.wait_for_completion(show_output=True)

env = Environment("wine-sklearn")
env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn", "pandas", "joblib", "mlflow"])
run_config = RunConfiguration()
run_config.environment = env

# Values chosen per submission.
test_size = PipelineParameter(name="test_size", default_value=0.25)
regularization = PipelineParameter(name="regularization", default_value=1.0)

prepared_data = PipelineData("prepared_data", datastore=datastore)
holdout = PipelineData("holdout", datastore=datastore).as_dataset()  # features only, consumed as a table
model_dir = PipelineData("model_dir", datastore=datastore)
scores = PipelineData("scores", datastore=datastore)

prepare_step = PythonScriptStep(
    name="prepare",
    script_name="prepare.py",
    arguments=["--output", prepared_data, "--holdout", holdout, "--test-size", test_size, "--seed", 42],
    outputs=[prepared_data, holdout],
    compute_target=compute_target,
    runconfig=run_config,
    source_directory=source_directory,
    allow_reuse=True,
)

train_step = PythonScriptStep(
    name="train",
    script_name="train.py",
    arguments=["--data", prepared_data, "--model", model_dir, "--C", regularization,
               "--model-name", "wine-classifier"],
    inputs=[prepared_data],
    outputs=[model_dir],
    compute_target=compute_target,
    runconfig=run_config,
    source_directory=source_directory,
)

evaluate_step = PythonScriptStep(
    name="evaluate",
    script_name="evaluate.py",
    arguments=["--data", prepared_data, "--model", model_dir],
    inputs=[prepared_data, model_dir],
    compute_target=compute_target,
    runconfig=run_config,
    source_directory=source_directory,
)

# Batch scoring (SDK v2): mini-batches of ~1 KB of CSV rows, 2 nodes x 2 processes; each line is a row's
# features followed by the model's prediction. The model is resolved when the step runs: the version
# the train step just registered.
batch_score = parallel_run_function(
    name="batch-score",
    inputs={"holdout": Input(type="mltable")},
    outputs={"scores": Output(type="uri_folder")},
    input_data="${{inputs.holdout}}",
    mini_batch_size="1kb",
    instance_count=2,
    max_concurrency_per_instance=2,
    error_threshold=5,
    retry_settings=RetrySettings(timeout=120, max_retries=2),
    compute=cluster_name,
    is_deterministic=False,
    task=ParallelTask(type="model", model="azureml:wine-classifier:latest", append_row_to="${{outputs.scores}}",
                      environment=env),
)
score_step = batch_score(holdout=holdout.parse_delimited_files().as_named_input("holdout"))
score_step.outputs.scores = Output(type="uri_folder", path=scores)
score_step.run_after(train_step)  # the model it scores is registered by train

pipeline = Pipeline(workspace=ws, steps=[evaluate_step, score_step],
                    description="Wine classifier: prepare, train, evaluate, batch-score")
errors = pipeline.validate()
if errors:
    raise SystemExit(f"Pipeline is not valid: {errors}")
print("Pipeline is built")

experiment = Experiment(ws, "wine-pipeline")
pipeline_run = experiment.submit(pipeline, pipeline_parameters={"regularization": 0.5},
                                 tags={"dataset": "sklearn-wine"})
print(f"Pipeline submitted for execution: {pipeline_run.id}")
pipeline_run.wait_for_completion(show_output=True)
