"""Faults between boto3 and the S3 endpoint: a loopback proxy in front of the moto server fails
requests with 500 InternalError, 503 SlowDown or a reset connection.

Transient faults are absorbed by botocore's retries; a permanent failure fails the step with a
clear error, and no consumer sees the partial output.
"""

from __future__ import annotations

import os

from aml_bridge import Experiment
from aml_bridge.data import Dataset
from aml_bridge.pipeline import Pipeline, PipelineData, PythonScriptStep
from tests.provider.helpers import script
from tests.support.s3_endpoint import SECRET, FaultProxy, keys, s3_store


def _flaky_ws(make_s3_ws, bucket, proxy, **tuning):
    return make_s3_ws(bucket, datastores={"flaky": s3_store(proxy.url, bucket, "flaky", **tuning)})


def test_transfers_succeed_through_retries(make_s3_ws, bucket, s3_endpoint, tmp_path) -> None:
    source = tmp_path / "src"
    (source / "many").mkdir(parents=True)
    for i in range(40):
        (source / "many" / f"f{i:02}.csv").write_text(f"x\n{i}\n")
    big = os.urandom(12 * 1024 * 1024)
    (source / "big.bin").write_bytes(big)  # multipart: 3 parts of 5 MB max
    with FaultProxy(s3_endpoint, rate=0.2, seed=11) as proxy:
        ws = _flaky_ws(make_s3_ws, bucket, proxy, max_attempts=10, multipart_threshold_mb=5,
                       multipart_chunksize_mb=5)
        store = ws.datastores["flaky"]
        store.upload(str(source), target_path="data", show_progress=False)
        assert store.download(str(tmp_path / "back"), prefix="data", show_progress=False) == 41
        frame = Dataset.Tabular.from_delimited_files((store, "data/many/*.csv")).to_pandas_dataframe()
    assert (tmp_path / "back" / "data" / "big.bin").read_bytes() == big
    assert sorted(frame["x"].tolist()) == list(range(40))
    assert all(proxy.counts[kind] > 0 for kind in ("500", "503", "reset")), proxy.counts


def test_permanent_failure_fails_the_step_and_publishes_nothing(make_s3_ws, bucket, s3, s3_endpoint,
                                                                tmp_path) -> None:
    """Uploads start failing for good after a few objects went through: the producer fails with an
    error naming step, output and datastore; what it wrote is removed; the consumer never runs."""
    script(tmp_path / "src", "produce.py", """
        p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
        os.makedirs(a.out, exist_ok=True)
        for i in range(30):
            open(os.path.join(a.out, f"part-{i:02}.txt"), "w").write(str(i))
    """)
    script(tmp_path / "src", "consume.py", """
        p = argparse.ArgumentParser(); p.add_argument("--inp"); a = p.parse_args()
        run.log("parts", len(os.listdir(a.inp)))
    """)
    with FaultProxy(s3_endpoint, rate=1.0, only_methods=("PUT",), after=5) as proxy:
        ws = _flaky_ws(make_s3_ws, bucket, proxy, max_attempts=2, max_concurrency=2)
        out = PipelineData("parts", datastore=ws.datastores["flaky"])
        produce = PythonScriptStep("produce.py", name="produce", source_directory=str(tmp_path / "src"),
                                   arguments=["--out", out], outputs=[out], allow_reuse=False)
        consume = PythonScriptStep("consume.py", name="consume", source_directory=str(tmp_path / "src"),
                                   arguments=["--inp", out], inputs=[out], allow_reuse=False)
        run = Experiment(ws, "s3-outage").submit(Pipeline(ws, [produce, consume]))
        assert sum(proxy.counts.values()) > 0
    assert run.get_status() == "Failed"
    steps = {s.name: s for s in run.get_steps()}
    assert set(steps) == {"produce"}  # the consumer never started
    producer = steps["produce"]
    assert producer.get_status() == "Failed" and producer.get_outputs() == {}
    message = producer.get_details()["error"]["error"]["message"]
    assert "Step [produce] could not publish output 'parts' to datastore 'flaky'" in message
    assert "failed after retries" in message and SECRET not in message
    assert keys(s3, bucket, f"flaky/azureml/{producer.id}/") == []  # the objects that got through were removed
