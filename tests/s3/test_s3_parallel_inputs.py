"""ParallelRunStep inputs on S3 under `dag.test()` (moto server over HTTP, through a request-logging
proxy): the input is listed into the manifest, never copied into the work folder; each worker
fetches only the objects of the mini-batch it runs, into a scratch folder removed after it.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from aml_bridge import Experiment
from aml_bridge.data import Dataset
from aml_bridge.parallel import ParallelRunConfig, ParallelRunStep
from aml_bridge.pipeline import Pipeline, PipelineData
from aml_bridge.train import Environment
from tests.support.s3_endpoint import SECRET, FaultProxy, s3_store

ENTRY = '''
import json, os, signal, time

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    folder = os.path.dirname(mini_batch[0])
    with open(os.environ["TEST_SIDE_LOG"], "a") as fh:
        fh.write(json.dumps({"pid": os.getpid(), "files": names, "folder": folder,
                             "present": sorted(os.listdir(folder))}) + "\\n")
    if os.environ.get("CRASH_ON") in names and not os.path.exists(os.environ["CRASH_MARKER"]):
        open(os.environ["CRASH_MARKER"], "w").close()
        os.kill(os.getppid(), signal.SIGKILL)  # the node's driver dies with this mini-batch in flight
        time.sleep(30)
    if "f000.txt" in names and os.environ.get("CHANGE_KEY"):  # another writer replaces a later object
        import boto3
        boto3.client("s3", endpoint_url=os.environ["CHANGE_ENDPOINT"]).put_object(
            Bucket=os.environ["CHANGE_BUCKET"], Key=os.environ["CHANGE_KEY"], Body=b"new data")
    return [f"{n}:{open(p).read()}" for n, p in zip(names, mini_batch)]
'''

TABLE_ENTRY = '''
def run(mini_batch):
    return mini_batch.assign(total=mini_batch["x"] * 2)
'''


@pytest.fixture
def proxy(s3_endpoint):
    with FaultProxy(s3_endpoint) as found:
        yield found


@pytest.fixture
def ws(make_s3_ws, bucket, proxy):
    return make_s3_ws(bucket, datastores={"workspaceblobstore": s3_store(proxy.url, bucket, "ws")})


@pytest.fixture
def side_log(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "side.log"
    monkeypatch.setenv("TEST_SIDE_LOG", str(path))
    return path


def _object_gets(proxy: FaultProxy, prefix: str) -> Counter:
    found = Counter()
    for method, path, _range in proxy.log:
        parts = urlsplit(path)
        key = unquote(parts.path).split("/", 2)[-1]
        if method == "GET" and not parts.query and key.startswith(prefix):
            found[key] += 1
    return found


def _files(s3, bucket: str, count: int) -> list[str]:
    for i in range(count):
        s3.put_object(Bucket=bucket, Key=f"ws/score/in/f{i:03d}.txt", Body=str(i * i).encode())
    s3.put_object(Bucket=bucket, Key="ws/score/other.csv", Body=b"not in the dataset")
    return [f"f{i:03d}.txt:{i * i}" for i in range(count)]


def _file_pipeline(ws, tmp_path: Path, **config) -> Pipeline:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "score.py").write_text(textwrap.dedent(ENTRY))
    values = dict(environment=Environment("batch"), entry_script="score.py", source_directory=str(src),
                  error_threshold=-1, output_action="append_row", append_row_file_name="scores.txt", compute_target="cpu",
                  node_count=2, process_count_per_node=2, mini_batch_size=3, run_invocation_timeout=30)
    values.update(config)
    store = ws.get_default_datastore()
    files = Dataset.File.from_files((store, "score/in/*.txt")).as_named_input("files")
    step = ParallelRunStep("score", ParallelRunConfig(**values), inputs=[files],
                           output=PipelineData("scores", datastore=store), allow_reuse=False)
    return Pipeline(ws, [step])


def _batch_of(batches: list[dict], names: list[str]) -> int:
    return next(b["id"] for b in batches if [e["name"] for e in b["files"]] == names)


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _lines(step, tmp_path: Path, name: str, file: str) -> list[str]:
    out = step.get_output_data(name).download(str(tmp_path / f"dl-{name}"))
    return (Path(out) / file).read_text().splitlines()


def _files_in(folder: Path) -> list[str]:
    return [name for _, _, names in os.walk(folder) for name in names]


def test_file_dataset_on_s3_scores_every_file_once_without_copying_it(ws, tmp_path, s3, bucket, proxy, side_log):
    expected = _files(s3, bucket, 40)
    proxy.log.clear()
    pipeline_run = Experiment(ws, "s3-parallel-files").submit(_file_pipeline(ws, tmp_path))

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"
    (step,) = pipeline_run.get_steps()
    lines = _lines(step, tmp_path, "scores", "scores.txt")
    assert sorted(lines) == sorted(expected) and len(lines) == len(set(lines))  # every line exactly once

    # no full copy: the work folder holds the manifest of pinned objects, not the objects
    work = Path(ws.config.home) / "parallel"
    assert not [n for n in _files_in(work) if n.startswith("f0")]
    (manifest_file,) = work.glob("*/manifest.json")
    batches = json.loads(manifest_file.read_text())["mini_batches"]
    entries = [e for b in batches for e in b["files"]]
    assert [e["name"] for e in entries] == [f"f{i:03d}.txt" for i in range(40)]
    assert all(e["store"] == "workspaceblobstore" and e["etag"] and e["size"] for e in entries)
    assert SECRET not in manifest_file.read_text() and "aws_" not in manifest_file.read_text()

    # each object was fetched once, by the worker that ran its mini-batch, into its own scratch folder
    gets = _object_gets(proxy, "ws/score/")
    assert gets == Counter({f"ws/score/in/f{i:03d}.txt": 1 for i in range(40)})
    runs = _events(side_log)
    assert sorted(n for r in runs for n in r["files"]) == [f"f{i:03d}.txt" for i in range(40)]
    assert len({r["pid"] for r in runs}) > 1  # several workers shared the work
    for record in runs:
        assert record["present"] == sorted(record["files"])  # only this mini-batch's objects
        assert Path(record["folder"]).parent.name == "aml-bridge-scratch"
        assert Path(record["folder"]).name.startswith(f"mb{_batch_of(batches, record['files'])}-{record['pid']}-")
        assert not os.path.exists(record["folder"])  # removed after the mini-batch


def test_changed_object_fails_its_mini_batch_with_a_clear_error(ws, tmp_path, s3, bucket, s3_endpoint, side_log,
                                                                monkeypatch):
    _files(s3, bucket, 9)
    monkeypatch.setenv("CHANGE_KEY", "ws/score/in/f008.txt")
    monkeypatch.setenv("CHANGE_BUCKET", bucket)
    monkeypatch.setenv("CHANGE_ENDPOINT", s3_endpoint)
    pipeline = _file_pipeline(ws, tmp_path, node_count=1, process_count_per_node=1, run_max_try=1,
                              allowed_failed_count=0)
    pipeline_run = Experiment(ws, "s3-parallel-changed").submit(pipeline)

    assert pipeline_run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    (step,) = pipeline_run.get_steps()
    assert "[2]" in step.get_details()["error"]["error"]["message"]  # the last mini-batch (f006-f008)
    step.download_file("logs/job_result.txt", str(tmp_path / "result.txt"))
    result = (tmp_path / "result.txt").read_text()
    assert f"ObjectChangedError: S3 datastore 'workspaceblobstore': s3://{bucket}/ws/score/in/f008.txt changed " \
           "after the step listed it" in result
    assert "new data" not in result
    assert not any("f008.txt" in r["files"] for r in _events(side_log))  # run() never saw the new data


def test_killed_node_resumes_on_s3_input_without_duplicates(ws, tmp_path, s3, bucket, side_log, monkeypatch):
    expected = _files(s3, bucket, 24)
    monkeypatch.setenv("CRASH_ON", "f010.txt")
    monkeypatch.setenv("CRASH_MARKER", str(tmp_path / "crashed"))
    pipeline_run = Experiment(ws, "s3-parallel-crash").submit(_file_pipeline(ws, tmp_path, node_count=1))

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"
    assert (tmp_path / "crashed").exists()
    killed = next(r for r in _events(side_log) if "f010.txt" in r["files"])
    assert not os.path.exists(killed["folder"])  # the scratch of the killed worker was swept by the next
    (step,) = pipeline_run.get_steps()
    lines = _lines(step, tmp_path, "scores", "scores.txt")
    assert sorted(lines) == sorted(expected) and len(lines) == len(expected)
    assert {"logs/sys/node/0/std_log.txt", "logs/sys/node/0/std_log_2.txt"} <= set(step.get_file_names())


def test_tabular_csv_on_s3_gives_the_rows_of_the_local_files(ws, tmp_path, s3, bucket):
    local = tmp_path / "table"
    local.mkdir()
    rows = pd.DataFrame({"id": range(600), "x": [i % 17 for i in range(600)], "tag": [f"t{i % 5}" for i in range(600)]})
    rows.iloc[:350].to_csv(local / "a.csv", index=False)
    rows.iloc[350:].to_csv(local / "b.csv", index=False)
    for path in sorted(local.iterdir()):
        s3.put_object(Bucket=bucket, Key=f"ws/table/{path.name}", Body=path.read_bytes())
    src = tmp_path / "src"
    src.mkdir()
    (src / "table.py").write_text(textwrap.dedent(TABLE_ENTRY))
    store = ws.get_default_datastore()
    steps = []
    for name, dataset in [("local", Dataset.Tabular.from_delimited_files(str(local / "*.csv"))),
                          ("s3", Dataset.Tabular.from_delimited_files((store, "table/*.csv")))]:
        config = ParallelRunConfig(environment=Environment("batch"), entry_script="table.py",
                                   source_directory=str(src), error_threshold=-1, output_action="append_row",
                                   append_row_file_name="rows.txt", compute_target="cpu", node_count=1,
                                   process_count_per_node=2, mini_batch_size="1KB", run_invocation_timeout=30)
        steps.append(ParallelRunStep(f"rows-{name}", config, inputs=[dataset.as_named_input(f"t_{name}")],
                                     output=PipelineData(f"out_{name}", datastore=store), allow_reuse=False))
    pipeline_run = Experiment(ws, "s3-parallel-table").submit(Pipeline(ws, steps))

    assert pipeline_run.wait_for_completion(show_output=False) == "Completed"
    by_name = {s.name: s for s in pipeline_run.get_steps()}
    here = _lines(by_name["rows-local"], tmp_path, "out_local", "rows.txt")
    there = _lines(by_name["rows-s3"], tmp_path, "out_s3", "rows.txt")
    assert len(here) == 600 and there == here  # the same rows, in the same order
    metrics = by_name["rows-s3"].get_metrics()
    assert metrics["mini_batches_total"][-1] == by_name["rows-local"].get_metrics()["mini_batches_total"][-1] > 5
    assert not [n for n in _files_in(Path(ws.config.home) / "parallel") if n.endswith(".csv")]  # nothing copied
