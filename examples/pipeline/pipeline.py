"""An Azure ML SDK v1 pipeline definition, written exactly as for Azure ML: prepare -> train -> evaluate,
and a ParallelRunStep that batch-scores the held-out rows with the trained model.

Run on Azure ML with `python pipeline.py`. With aml-bridge the same file, unchanged, is run by
`aml-bridge pipeline run pipeline.py`, or scheduled through the DAG file beside it (`dag.py`).
"""

import os

from azureml.core import Environment, Experiment, Workspace
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.runconfig import RunConfiguration
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep, PythonScriptStep

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
env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn", "pandas", "joblib"])
run_config = RunConfiguration()
run_config.environment = env

# Values chosen per submission.
test_size = PipelineParameter(name="test_size", default_value=0.25)
regularization = PipelineParameter(name="regularization", default_value=1.0)

prepared_data = PipelineData("prepared_data", datastore=datastore)
holdout = PipelineData("holdout", datastore=datastore).as_dataset()  # consumed as a tabular dataset
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

# Batch scoring: mini-batches of ~1 KB of CSV rows, 2 nodes x 2 processes, one line per scored row.
score_config = ParallelRunConfig(
    source_directory=source_directory,
    entry_script="score.py",
    mini_batch_size="1KB",
    error_threshold=5,
    output_action="append_row",
    append_row_file_name="scores.txt",
    environment=env,
    compute_target=compute_target,
    node_count=2,
    process_count_per_node=2,
    run_invocation_timeout=120,
)
score_step = ParallelRunStep(
    name="batch-score",
    parallel_run_config=score_config,
    inputs=[holdout.parse_delimited_files().as_named_input("holdout")],
    output=scores,
    side_inputs=[model_dir],
    arguments=["--model", model_dir],
    allow_reuse=False,
)

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
