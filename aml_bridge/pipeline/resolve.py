"""Run-time resolution of a StepPlan: argv, environment and output locations — pure functions.

The caller (the Airflow operator) decides where each port lives locally and passes
`ports` = {port name: absolute local path} (for a `direct` dataset input: the dataset id, which
defaults to the plan's id) and `parameters` = this submission's values
(`PipelinePlan.parameter_values(conf)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .naming import dataref_env_var, param_env_var
from .plan import ArgumentPlan, InputPlan, ParamPlan, StepPlan

RUN_ID = "{run-id}"
OUTPUT_NAME = "{output-name}"


def render(value: Any) -> str:
    """Azure's argv/env rendering: `str()` (5 -> "5", True -> "True"); a DataPath as `datastore/path`."""
    if isinstance(value, dict) and "datastore" in value and "path" in value:
        return f"{value['datastore']}/{value['path']}".rstrip("/")
    if isinstance(value, dict) and "definition" in value:
        return str(_dataset_id(value))
    return str(value)


def _dataset_id(value: dict[str, Any]) -> str:
    from ..data.dataset import AbstractDataset

    return AbstractDataset.from_dict(value).id


def parameter_names(step: StepPlan) -> list[str]:
    """Pipeline parameters the step reads (argv, params, parameter-valued inputs, runconfig)."""
    names = [a.value for a in step.arguments if a.kind == "parameter"]
    names += [p.value for p in step.params.values() if p.kind == "parameter"]
    names += [i.source["name"] for i in step.inputs if i.source and i.source.get("type") == "parameter"]
    names += list(step.runconfig_parameters.values())
    return sorted(set(names))


def step_parameters(step: StepPlan, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the parameters this step reads (for its reuse key)."""
    return {name: _parameter(step, parameters, name) for name in parameter_names(step)}


def _parameter(step: StepPlan, parameters: Mapping[str, Any], name: str) -> Any:
    if name not in parameters:
        raise KeyError(f"Step [{step.task_id}] reads pipeline parameter {name!r}, which this submission "
                       f"does not define; known: {sorted(parameters)}")
    return parameters[name]


def _param_value(step: StepPlan, param: ParamPlan, parameters: Mapping[str, Any]) -> str:
    return param.value if param.kind == "literal" else render(_parameter(step, parameters, param.value))


def port_value(step: StepPlan, name: str, ports: Mapping[str, str], parameters: Mapping[str, Any]) -> str:
    """What a port becomes in argv/env: its local path, or a direct dataset's id."""
    if name in ports:
        return ports[name]
    inp = next((i for i in step.inputs if i.name == name), None)
    if inp is not None and inp.mode == "direct" and inp.source:
        if inp.source.get("type") == "dataset":
            return str(inp.source["id"])
        if inp.source.get("type") == "parameter":
            return render(_parameter(step, parameters, inp.source["name"]))
    raise KeyError(f"Step [{step.task_id}]: no local path given for port {name!r}; ports given: {sorted(ports)}")


def _argument(step: StepPlan, arg: ArgumentPlan, ports: Mapping[str, str], parameters: Mapping[str, Any]) -> str:
    if arg.kind == "literal":
        return arg.value
    if arg.kind == "parameter":
        return render(_parameter(step, parameters, arg.value))
    return port_value(step, arg.value, ports, parameters)


def resolve_arguments(step: StepPlan, ports: Mapping[str, str], parameters: Mapping[str, Any]) -> list[str]:
    """The argv (after the script path) the step's process gets."""
    return [_argument(step, arg, ports, parameters) for arg in step.arguments]


def step_environment(step: StepPlan, ports: Mapping[str, str], parameters: Mapping[str, Any]) -> dict[str, str]:
    """runconfig variables, `AML_PARAMETER_*`, `AZUREML_DATAREFERENCE_*` and the dataset variables."""
    env = dict(step.environment_variables)
    for key, param in step.params.items():
        env[param_env_var(key)] = _param_value(step, param, parameters)
    dataset_inputs, file_outputs = [], []
    for inp in step.inputs:
        value = port_value(step, inp.name, ports, parameters)
        if inp.kind == "dataset":
            env[inp.name] = value
            dataset_inputs.append(f"{inp.name}:{inp.mode}")
        else:
            env[dataref_env_var(inp.name)] = value
    for out in step.outputs:
        if out.kind == "dataset":
            env[out.name] = port_value(step, out.name, ports, parameters)
            file_outputs.append(out.name)
        elif out.mode != "upload":
            env[dataref_env_var(out.name)] = port_value(step, out.name, ports, parameters)
    if dataset_inputs:
        env["AZUREML_DATASET_ENVIRONMENT_VARS"] = ",".join(dataset_inputs)
    if file_outputs:
        env["AZUREML_DATASET_FILE_OUTPUTS"] = ";".join(file_outputs)
    return env


def render_path_template(template: str, run_id: str, output_name: str) -> str:
    """Fill `{run-id}` and `{output-name}`; the result is a datastore-relative path."""
    return template.replace(RUN_ID, run_id).replace(OUTPUT_NAME, output_name).lstrip("/")


def output_locations(step: StepPlan, run_id: str) -> dict[str, tuple[str, str]]:
    """{output name: (datastore name, datastore path)} for one run of the step."""
    return {o.name: (o.datastore, render_path_template(o.path_template, run_id, o.name)) for o in step.outputs}


def input_location(step: StepPlan, inp: InputPlan, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where an external input lives for this submission: a datastore source or a dataset dict.

    Returns None for inputs fed by an upstream step (their location comes from that step's run).
    """
    source = inp.source
    if source is None:
        return None
    if source.get("type") != "parameter":
        return source
    value = _parameter(step, parameters, source["name"])
    if isinstance(value, dict) and "definition" in value:
        return {"type": "dataset", "id": _dataset_id(value), "dataset": value}
    if isinstance(value, dict):
        return {"type": "datastore", "datastore": value["datastore"], "path": value.get("path", "")}
    raise TypeError(f"Step [{step.task_id}]: input {inp.name} takes parameter {source['name']}, whose value "
                    f"{value!r} is neither a DataPath nor a dataset")


__all__ = ["input_location", "output_locations", "parameter_names", "port_value", "render",
           "render_path_template", "resolve_arguments", "step_environment", "step_parameters"]
