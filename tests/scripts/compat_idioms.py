"""The idioms around real Azure ML scripts, run with nothing but the compat path."""

import azureml.core
from azureml.core import Environment, Experiment, Model, Run, ScriptRunConfig, Workspace
from azureml.core.authentication import (
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
)
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.run import _OfflineRun
from azureml.core.runconfig import DEFAULT_CPU_IMAGE, RunConfiguration
from azureml.exceptions import ComputeTargetException as Same
from azureml.exceptions import UserErrorException
from azureml.widgets import RunDetails

import aml_bridge.compat

assert azureml.core.__file__.startswith(aml_bridge.compat.path())
assert ComputeTargetException is Same
print("SDK version:", azureml.core.VERSION)

auths = [InteractiveLoginAuthentication(tenant_id="t"), AzureCliAuthentication(), MsiAuthentication(),
         ServicePrincipalAuthentication(tenant_id="t", service_principal_id="id", service_principal_password="pw")]
assert all(a.get_authentication_header() == {} for a in auths)
ws = Workspace(subscription_id="sub", resource_group="rg", workspace_name="ws", auth=auths[-1])

try:
    cluster = ComputeTarget(workspace=ws, name="cpu-cluster")
    print("Found existing cluster, use it.")
except ComputeTargetException:
    raise SystemExit("the lookup must succeed for any name") from None
assert type(cluster) is AmlCompute

name = "gpu-cluster"
if name in ws.compute_targets and type(ws.compute_targets[name]) is AmlCompute:
    raise SystemExit("gpu-cluster was never created")
config = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=4)
target = ComputeTarget.create(ws, name, config)
target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)
assert name in ws.compute_targets and type(ws.compute_targets[name]) is AmlCompute
print("status", target.get_status().serialize()["provisioningState"])

env = Environment("sklearn-env")
env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
src = ScriptRunConfig(source_directory=".", script="train.py", compute_target=target, environment=env)
assert src.run_config.target == "gpu-cluster" and isinstance(src.run_config, RunConfiguration)
assert env.docker.base_image == DEFAULT_CPU_IMAGE

run = Run.get_context()
assert isinstance(run, _OfflineRun) and run.id.startswith("OfflineRun")
RunDetails(run).show()
try:
    Experiment(ws, "not a valid name!")
except UserErrorException as exc:
    print("rejected:", exc)
assert Model.__module__ == "aml_bridge.model"
print("COMPAT OK")
