"""Container tasks: a step whose compute target is Kubernetes or Docker runs in its environment's image.

`compute_targets` in the workspace config says which: `{"k8s": {"type": "Kubernetes", "namespace":
"ml", "cpu": "2", "memory": "8Gi"}}` or `{"box": {"type": "Docker", "docker_url": "..."}}`. The image
is the environment's `docker.base_image` (an Estimator's `custom_docker_image`), and `use_gpu`
requests a GPU. The container runs the same step code as the local operator
(`python -m aml_bridge.execution.step_task TASK`), so the image needs aml-bridge installed, and the
workspace must be reachable from it (an MLflow server and S3 datastores, not local folders).
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.docker.operators.docker import DockerOperator

from .links import MlflowPipelineRunLink, MlflowRunLink
from .plugin import container_kind

ENTRY = ["python", "-m", "aml_bridge.execution.step_task"]


def container_task(step: Any, dag: Any, pipeline: dict[str, Any], target_name: str, target: dict[str, Any],
                   **placement: Any) -> Any:
    """The pod / container operator of one step on a container compute target."""
    docker = ((step.extra.get("job") or {}).get("environment") or {}).get("docker") or {}
    image = target.get("image") or docker.get("baseImage")
    if not image:
        raise ValueError(f"Step [{step.name}] runs on compute target {target_name!r} ({target['type']}), but its "
                         "environment names no image: set environment.docker.base_image (or custom_docker_image)")
    gpu = bool(docker.get("gpuSupport")) or bool(target.get("gpu"))
    env = {**step.environment_variables, "MLFLOW_TRACKING_URI": pipeline["workspace"]["tracking_uri"],
           "PYTHONUNBUFFERED": "1"}
    common = {"task_id": step.task_id, "step": _plain(step), "pipeline": pipeline, "dag": dag, "image": image,
              **placement}
    if container_kind(target) == "kubernetes":
        return KubernetesStepOperator(
            **common, name=step.task_id.replace("_", "-").lower(), namespace=target.get("namespace"), cmds=ENTRY[:1],
            arguments=ENTRY[1:], env_vars=env, container_resources=_pod_resources(target, gpu), do_xcom_push=True,
            kubernetes_conn_id=target.get("kubernetes_conn_id", "kubernetes_default"))
    return DockerStepOperator(
        **common, command=list(ENTRY), environment=env, device_requests=_docker_gpus(gpu),
        docker_url=target.get("docker_url"), cpus=float(target.get("cpu", 1.0)), mem_limit=target.get("memory"),
        shm_size=_bytes(docker.get("shmSize")), do_xcom_push=True)


class _ContainerStep:
    """Gathers the attempt's task in the worker, hands it to the container, returns its result."""

    operator_extra_links = (MlflowRunLink(), MlflowPipelineRunLink())
    step: dict[str, Any]
    pipeline: dict[str, Any]

    def execute(self, context: Any) -> Any:
        from aml_bridge.execution.step_task import encode

        from .operators import step_task

        self._add_argument(encode(step_task(self.step, self.pipeline, context, self.task_id)))
        result = super().execute(context)
        return json.loads(result) if isinstance(result, str) else result

    def _add_argument(self, token: str) -> None:
        raise NotImplementedError


class KubernetesStepOperator(_ContainerStep, KubernetesPodOperator):
    """A step in a Kubernetes pod (the cncf-kubernetes provider)."""

    def __init__(self, *, step: dict[str, Any], pipeline: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)  # Airflow wraps each operator's own __init__, so no shared one
        self.step, self.pipeline = step, pipeline

    def _add_argument(self, token: str) -> None:
        self.arguments = [*self.arguments, token]


class DockerStepOperator(_ContainerStep, DockerOperator):
    """A step in a Docker container (the docker provider)."""

    def __init__(self, *, step: dict[str, Any], pipeline: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step, self.pipeline = step, pipeline

    def _add_argument(self, token: str) -> None:
        self.command = [*self.command, token]


def _pod_resources(target: dict[str, Any], gpu: bool) -> Any:
    from kubernetes.client import models as k8s

    wanted = {key: str(target[key]) for key in ("cpu", "memory") if target.get(key)}
    limits = {**wanted, **({"nvidia.com/gpu": str(target.get("gpu_count", 1))} if gpu else {})}
    return k8s.V1ResourceRequirements(requests=wanted or None, limits=limits or None)


def _docker_gpus(gpu: bool) -> list[Any] | None:
    if not gpu:
        return None
    from docker.types import DeviceRequest

    return [DeviceRequest(count=-1, capabilities=[["gpu"]])]


def _bytes(size: str | None) -> int | None:
    """Docker's shm size in bytes from Azure's `2g` / `512m` notation."""
    if not size:
        return None
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = str(size).strip().lower()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def _plain(step: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(step)


__all__ = ["DockerStepOperator", "KubernetesStepOperator", "container_task"]
