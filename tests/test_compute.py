"""Compute targets: both provisioning idioms of real notebooks, and targets from the workspace config."""

from __future__ import annotations

import json

import pytest

from aml_bridge import Workspace, settings
from aml_bridge.compute import AmlCompute, ComputeInstance, ComputeTarget, compute_targets
from aml_bridge.errors import ComputeTargetException


@pytest.fixture
def configured_ws(tmp_path) -> Workspace:
    config = tmp_path / "aml-bridge.json"
    config.write_text(json.dumps({"workspace_name": "ml", "compute_targets": {
        "gpu-cluster": {"pool": "gpu_pool", "queue": "gpu", "vm_size": "STANDARD_NC6", "max_nodes": 2},
        "my-vm": {"type": "ComputeInstance"}}}))
    return Workspace(config=settings.resolve(settings.read_config_file(config), config, home=str(tmp_path / "h")))


def test_lookup_succeeds_for_any_name_and_is_an_aml_compute(ws):
    try:
        target = ComputeTarget(workspace=ws, name="cpu-cluster")
    except ComputeTargetException:  # pragma: no cover - the idiom's other branch must not be needed
        pytest.fail("ComputeTarget lookup raised")
    assert type(target) is AmlCompute
    assert target.name == "cpu-cluster" and target.type == "AmlCompute" and target.provisioning_state == "Succeeded"
    assert ComputeTarget(ws, "cpu-cluster") is target


def test_create_and_wait_then_found_in_compute_targets(ws, capsys):
    name = "created-cluster"
    assert name not in ws.compute_targets
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=4,
                                                   idle_seconds_before_scaledown=1800)
    target = ComputeTarget.create(ws, name, config)
    target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)

    assert type(target) is AmlCompute and target.vm_size == "STANDARD_D2_V2" and target.max_nodes == 4
    assert 'operation "Succeeded"' in capsys.readouterr().out
    assert name in ws.compute_targets and type(ws.compute_targets[name]) is AmlCompute
    assert ws.compute_targets[name].vm_size == "STANDARD_D2_V2"
    status = target.get_status().serialize()
    assert isinstance(status, dict) and status["provisioningState"] == "Succeeded"
    assert status["scaleSettings"]["maxNodeCount"] == 4 and status["vmSize"] == "STANDARD_D2_V2"
    target.delete()
    assert name not in ws.compute_targets


def test_configured_targets_carry_airflow_pool_and_queue(configured_ws):
    targets = configured_ws.compute_targets
    assert set(targets) == {"gpu-cluster", "my-vm"}
    gpu = targets["gpu-cluster"]
    assert type(gpu) is AmlCompute and (gpu.pool, gpu.queue, gpu.vm_size, gpu.max_nodes) == (
        "gpu_pool", "gpu", "STANDARD_NC6", 2)
    assert type(ComputeTarget(configured_ws, "my-vm")) is ComputeInstance
    assert [t.name for t in ComputeTarget.list(configured_ws)] == ["gpu-cluster", "my-vm"]
    assert compute_targets(configured_ws.config).keys() == targets.keys()


def test_compute_instance_idiom(ws):
    config = ComputeInstance.provisioning_configuration(vm_size="STANDARD_DS3_V2", ssh_public_access=False)
    instance = ComputeTarget.create(ws, "my-instance", config)
    instance.wait_for_completion(show_output=False)
    instance.stop()
    instance.start()
    assert type(instance) is ComputeInstance and instance.type == "ComputeInstance"
    assert instance.serialize()["properties"]["vmSize"] == "STANDARD_DS3_V2"


def test_authentication_classes_construct_with_any_arguments():
    from aml_bridge.authentication import (
        AzureCliAuthentication,
        InteractiveLoginAuthentication,
        MsiAuthentication,
        ServicePrincipalAuthentication,
    )

    sp = ServicePrincipalAuthentication(tenant_id="t", service_principal_id="app",
                                        service_principal_password="secret", _enable_caching=False)
    auths = [InteractiveLoginAuthentication(force=True, tenant_id="t"), AzureCliAuthentication(),
             MsiAuthentication(identity_config={"client_id": "x"}), sp]
    assert all(a.get_authentication_header() == {} for a in auths)
    assert sp.tenant_id == "t" and sp.service_principal_id == "app"
    assert "secret" not in repr(vars(sp))
    ws = Workspace(subscription_id="s", resource_group="r", workspace_name="w", auth=sp)
    assert ws.name == "w"
