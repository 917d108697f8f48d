"""`ParallelTask(type='model')` around the driver: fetch and check the model once, score mini-batches.

Before any mini-batch runs, the model is downloaded into the step's work folder (once: by the
prepare task on Airflow, else by the first node) and its signature is checked against the input
(every tabular file's columns, or the file-input contract), so a mismatch fails the step at once,
naming the columns, instead of failing every mini-batch. Each node then loads it once in its
supervisor (`prepared_model`): an unloadable model fails before any worker starts, and MLflow and
the flavour's libraries stay imported there, so the forked workers' own `load_model` only
deserialises. A supervisor downloads in a short-lived child: MLflow's artifact thread pool must
not live in a process that forks workers. MLflow and pandas are imported only for model steps."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import UserErrorException
from . import manifest, remote
from .config import ParallelSettings

MODEL_PATH_ENV = "AML_BRIDGE_MODEL_PATH"
FILE_COLUMN = "file"  # file input: the output row starts with the file's path
_FILE_TYPES = ("string", "binary")  # a file-input model takes paths or bytes


class ModelInputError(UserErrorException, ValueError):
    """The model cannot score this step's input (signature mismatch, not an MLflow model)."""


@contextmanager
def prepared_model(settings: ParallelSettings, batches: list[manifest.MiniBatch], work_dir: str,
                   env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A node's pre-flight: the workers' extra environment (the local model path); {} if not a model step.

    Fetches (once per work folder) and checks the model, then loads it once in this process.
    """
    if settings.model is None:
        yield {}
        return
    import mlflow.artifacts  # noqa: F401 - imported once here: the download child and the workers inherit it
    import mlflow.pyfunc

    path = check_model(settings, batches, work_dir, _tracking_uri(env), in_child=True)
    warner = _start_child(_warn_environment, path)  # on the idle core while this process loads
    try:
        # Fails now, not in every worker; the flavour's imports are inherited. The workers load with
        # suppress_warnings too: the environment warnings are given once per node, by `warner`.
        mlflow.pyfunc.load_model(path, suppress_warnings=True)
    except Exception as exc:
        raise ModelInputError(f"model {settings.model} cannot be loaded with mlflow.pyfunc.load_model: "
                              f"{type(exc).__name__}: {exc}") from exc
    finally:
        warner.join()
    yield {MODEL_PATH_ENV: path}


def check_model(settings: ParallelSettings, batches: list[manifest.MiniBatch], work_dir: str,
                tracking_uri: str, in_child: bool = False) -> str:
    """Fetch the model into `work_dir/model` (unless an earlier phase did) and check it fits the input.

    `in_child`: download in a forked child, for a process that forks workers afterwards.
    """
    uri = settings.model or ""
    target = os.path.join(work_dir, "model")
    if not os.path.isdir(target):
        folder = tempfile.mkdtemp(prefix="model.", dir=work_dir)
        try:
            (_in_child if in_child else _call_here)(_download, uri, folder, tracking_uri)
            os.rename(folder, target)  # atomic: another node that got there first wins
        except OSError:
            if not os.path.isdir(target):
                raise
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    path = _mlmodel_root(uri, target)
    check_input(settings, batches, path)
    return path


def _tracking_uri(env: dict[str, str]) -> str:
    from .. import settings as workspace_settings

    return env.get("MLFLOW_TRACKING_URI") or workspace_settings.from_environment().tracking_uri


def _download(uri: str, folder: str, tracking_uri: str) -> str:
    import mlflow.artifacts

    return mlflow.artifacts.download_artifacts(artifact_uri=_storage_uri(uri, tracking_uri), dst_path=folder,
                                               tracking_uri=tracking_uri)


def _storage_uri(uri: str, tracking_uri: str) -> str:
    """Where a `models:/` or `runs:/` URI's files are, asked of this store's client.

    MLflow's own resolvers read the process-global registry URI (3.17), which need not be the
    workspace's; a registered version's source may itself be a `models:/<model id>` URI.
    """
    from mlflow import MlflowClient
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    for _ in range(3):
        if uri.startswith("runs:/"):
            return _run_storage_uri(client, *uri[len("runs:/"):].partition("/")[::2])
        if not uri.startswith("models:/"):
            return uri
        found = get_model_name_and_version(client, uri)
        uri = (client.get_logged_model(found[0]).artifact_location if len(found) == 1
               else client.get_model_version_download_uri(*found))
    return uri


def _run_storage_uri(client: Any, run_id: str, path: str) -> str:
    """The run's logged model named by the path's first part (MLflow 3 `log_model`), else the run's artifact."""
    from mlflow.utils.uri import append_to_uri_path

    run = client.get_run(run_id)
    model, rest = run_logged_model(client, run, path)
    if model is None:
        return append_to_uri_path(run.info.artifact_uri, path)  # a missing path is named by the download
    return append_to_uri_path(model.artifact_location, rest) if rest else model.artifact_location


def run_logged_model(client: Any, run: Any, path: str) -> tuple[Any, str]:
    """(the logged model of `run` named by `path`'s first part, or None; the rest of `path`)."""
    name, _, rest = path.partition("/")
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id], filter_string=f"name = '{name}'")
    return next((m for m in models if m.source_run_id == run.info.run_id), None), rest


def _call_here(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as exc:
        raise ModelInputError(f"cannot download model {args[0]}: {type(exc).__name__}: {exc}") from exc


def _call(send: Any, function: Any, args: tuple[Any, ...]) -> None:
    try:
        send.send((True, function(*args)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        send.send((False, f"{type(exc).__name__}: {exc}"))


def _in_child(function: Any, *args: Any) -> Any:
    """`function(*args)` in a forked child; its error is raised here as a ModelInputError."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_call, args=(send, function, args))
    child.start()
    send.close()
    try:
        ok, value = receive.recv()
    except EOFError:
        ok, value = False, "the download process died"
    child.join()
    if not ok:
        raise ModelInputError(f"cannot download model {args[0]}: {value}")
    return value


def _start_child(function: Any, *args: Any) -> Any:
    """`function(*args)` in a forked child that reports nothing back (see `_in_child` for one that does)."""
    child = multiprocessing.get_context("fork").Process(target=function, args=args, daemon=True)
    child.start()
    return child


def _warn_environment(path: str) -> None:
    """What `load_model` warns about unless suppressed: model requirements this Python does not meet, and a
    different Python version. Done apart because finding every installed package's modules costs ~0.5 s."""
    import mlflow.pyfunc as pyfunc
    from mlflow.models import Model
    from mlflow.utils.requirements_utils import warn_dependency_requirement_mismatches

    try:
        warn_dependency_requirement_mismatches(pyfunc._get_pip_requirements_from_model_path(path))
        conf = Model.load(path).flavors.get("python_function") or {}
        pyfunc._warn_potentially_incompatible_py_version_if_necessary(model_py_version=conf.get("python_version"))
    except Exception as exc:  # noqa: BLE001 - a warning that cannot be computed is not an error
        print(f"could not check model {path}'s environment: {type(exc).__name__}: {exc}", flush=True)


def _mlmodel_root(uri: str, path: str) -> str:
    """The shallowest folder with an `MLmodel` file (downloads nest; aml-bridge keeps a registered folder
    under its own name)."""
    found = sorted((folder.count(os.sep), folder) for folder, _, names in os.walk(path) if "MLmodel" in names)
    if not found or (len(found) > 1 and found[0][0] == found[1][0]):
        raise ModelInputError(f"model {uri} is not an MLflow model ({'no' if not found else 'more than one'} "
                              "MLmodel file): type='model' scores models saved with mlflow.<flavour>.log_model "
                              "or save_model")
    return found[0][1]


def _load_meta(path: str) -> Any:
    """The MLmodel metadata of a model mlflow.pyfunc can load."""
    from mlflow.models import Model

    meta = Model.load(path)
    if "python_function" not in meta.flavors:
        raise ModelInputError(f"model at {path} has no python_function flavour, so mlflow.pyfunc cannot load it")
    return meta


def check_input(settings: ParallelSettings, batches: list[manifest.MiniBatch], path: str) -> None:
    """Fail now, naming the columns, when the model's signature cannot take the step's input."""
    meta = _load_meta(path)
    inputs = meta.signature.inputs if meta.signature is not None else None
    if settings.input_kind == "tabular":
        if inputs is not None and inputs.has_input_names():
            files = {remote.label(f): f for b in batches for f in _files_of(b)}
            for name in sorted(files):
                _check_columns(settings.model or path, inputs, files[name])
        return
    if inputs is None or not inputs.has_input_names() or len(inputs.inputs) != 1 or _type(inputs.inputs[0]) not in (
            _FILE_TYPES):
        raise ModelInputError(f"model {settings.model} cannot take file input: its signature must have one "
                              f"string column (file paths) or one binary column (file bytes), it has {inputs}")


def _files_of(batch: manifest.MiniBatch) -> list[manifest.Entry]:
    return [c["file"] for c in batch["chunks"]] if "chunks" in batch else list(batch["files"])


def _columns(file: manifest.Entry) -> list[str]:
    """The file's columns from its schema or header (an S3 object: its footer or first bytes only)."""
    if remote.label(file).lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        with manifest.opened(file) as handle:
            return [n for n in pq.ParquetFile(handle).schema_arrow.names if not n.startswith("__index_level_")]
    import pandas as pd

    with manifest.opened(file, 64 << 10) as handle:
        return [str(c) for c in pd.read_csv(handle, nrows=0).columns]


def _check_columns(model: str, inputs: Any, file: manifest.Entry) -> None:
    columns = _columns(file)
    required = [s.name for s in inputs.inputs if getattr(s, "required", True)]
    missing = [c for c in required if c not in columns]
    extra = [c for c in columns if c not in inputs.input_names()]
    if missing or extra:
        raise ModelInputError(f"model {model} does not match the input {remote.label(file)}: missing columns {missing}, "
                              f"extra columns {extra} (the model's signature takes {inputs.input_names()})")


def _type(spec: Any) -> str:
    return str(getattr(spec.type, "name", spec.type))


# --- in the worker ------------------------------------------------------------------------


def score(model: Any, mini_batch: Any) -> Any:
    """predict() on one mini-batch; a DataFrame of the input (or file) columns, then the predictions."""
    import pandas as pd

    if isinstance(mini_batch, pd.DataFrame):
        frame = mini_batch.reset_index(drop=True)
        return pd.concat([frame, _predictions(model.predict(frame), len(frame))], axis=1)
    inputs = model.metadata.get_input_schema().inputs
    column = inputs[0].name
    values = mini_batch if _type(inputs[0]) == "string" else [_read(p) for p in mini_batch]
    predictions = _predictions(model.predict(pd.DataFrame({column: values})), len(mini_batch))
    return pd.concat([pd.DataFrame({FILE_COLUMN: list(mini_batch)}), predictions], axis=1)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _predictions(predicted: Any, rows: int) -> Any:
    """predict()'s result as columns: `prediction` (1-D), `prediction_<i>` (2-D), or its own columns."""
    import numpy as np
    import pandas as pd

    if isinstance(predicted, pd.Series):
        frame = predicted.to_frame(predicted.name if predicted.name is not None else "prediction")
    elif isinstance(predicted, (pd.DataFrame, dict)):
        frame = pd.DataFrame(predicted)
    else:
        array = np.asarray(predicted)
        frame = (pd.DataFrame({"prediction": array}) if array.ndim == 1
                 else pd.DataFrame(array.reshape(len(array), -1)).add_prefix("prediction_"))
    if len(frame) != rows:
        raise ValueError(f"predict() returned {len(frame)} rows for {rows} inputs")
    return frame.reset_index(drop=True)


__all__ = ["FILE_COLUMN", "MODEL_PATH_ENV", "ModelInputError", "check_input", "check_model", "prepared_model",
           "score"]
