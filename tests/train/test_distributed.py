"""Distributed launch on one node: a real PyTorch DistributedDataParallel job on CPU (gloo), 2 ranks.

torch 2.13.0 CPU is installed by `make test` (`make torch`, pip from the local wheel); without it
this test fails, it is not skipped.
"""

from __future__ import annotations

import json
import sys

import pytest

from aml_bridge.train import PyTorchConfiguration, ScriptRunConfig
from aml_bridge.train.job import JobSpec
from aml_bridge.train.ranks import rank_envs

TRAIN = """\
import json, os
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from azureml.core import Run

dist.init_process_group("gloo")  # env:// : MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
initial = [p.detach().clone().flatten().tolist() for p in model.parameters()]
ddp = DistributedDataParallel(model)
optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
data = torch.Generator().manual_seed(100 + rank)  # every rank sees different data
x, y = torch.randn(64, 4, generator=data), torch.randn(64, 1, generator=data)
run = Run.get_context()
losses = []
for epoch in range(5):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(ddp(x), y)
    loss.backward()  # DDP all-reduces the gradients here
    optimizer.step()
    losses.append(float(loss))
    run.log("loss", float(loss))  # unguarded, as in many Azure scripts: only rank 0's reach the run
names = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "OMPI_COMM_WORLD_RANK",
         "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK")
os.makedirs("outputs", exist_ok=True)
with open(f"outputs/rank{rank}.json", "w") as fh:
    json.dump({"initial": initial, "params": [p.detach().flatten().tolist() for p in model.parameters()],
               "losses": losses, "env": {n: os.environ[n] for n in names}}, fh)
print(f"rank {rank} of {world} finished", flush=True)
dist.destroy_process_group()
"""


def test_ddp_on_two_processes_synchronises_gradients_and_logs_rank0_once(exp, tmp_path, monkeypatch):
    import importlib.util

    assert importlib.util.find_spec("torch"), "torch is missing: run `make torch` (pip install torch==2.13.0)"
    monkeypatch.setenv("AZUREML_RUN_POLLING_INTERVAL_MAX", "1")
    (tmp_path / "train.py").write_text(TRAIN)
    config = ScriptRunConfig(str(tmp_path), "train.py",
                             distributed_job_config=PyTorchConfiguration(communication_backend="Gloo", process_count=2))

    run = exp.submit(config)

    assert run.wait_for_completion()["status"] == "Completed"
    ranks = []
    for rank in (0, 1):
        run.download_file(f"outputs/rank{rank}.json", str(tmp_path / f"got{rank}.json"))
        ranks.append(json.loads((tmp_path / f"got{rank}.json").read_text()))
    assert ranks[0]["params"] == ranks[1]["params"]  # gradients really were averaged across ranks
    assert ranks[0]["params"] != ranks[0]["initial"]  # and training moved them
    assert ranks[0]["losses"] != ranks[1]["losses"]  # on different data
    assert run.get_metrics()["loss"] == pytest.approx(ranks[0]["losses"])  # rank 0's values, once
    for rank, found in enumerate(ranks):
        env = found["env"]
        assert (env["RANK"], env["LOCAL_RANK"], env["WORLD_SIZE"]) == (str(rank), str(rank), "2")
        assert (env["OMPI_COMM_WORLD_RANK"], env["OMPI_COMM_WORLD_SIZE"]) == (str(rank), "2")
        assert env["MASTER_ADDR"] == "127.0.0.1" and env["MASTER_PORT"] == ranks[0]["env"]["MASTER_PORT"]
    files = run.get_file_names()
    assert "user_logs/std_log.txt" in files and "user_logs/std_log_process_1.txt" in files
    run.download_file("user_logs/std_log_process_1.txt", str(tmp_path / "rank1.txt"))
    assert "rank 1 of 2 finished" in (tmp_path / "rank1.txt").read_text()


def test_a_failing_rank_fails_the_job_and_stops_the_others(ws, tmp_path):
    import io

    from aml_bridge import Experiment, Run
    from aml_bridge.launcher import launch

    (tmp_path / "job.py").write_text(
        "import os, sys, time\nif os.environ['RANK'] == '1':\n    sys.exit('rank 1 broke')\ntime.sleep(120)\n")
    run = Run._create(Experiment(ws, "failing_rank"), run_type="azureml.scriptrun", target="local")
    code = launch(run, [sys.executable, "job.py"], str(tmp_path), stream=io.StringIO(),
                  job=JobSpec(processes=3, backend="mpi"))
    assert code == 1 and run.get_status() == "Failed"
    assert "rank 1 broke" in run.get_details()["error"]["error"]["message"]


def test_more_than_one_node_says_how_to_get_it():
    from aml_bridge.errors import RunConfigurationException

    with pytest.raises(RunConfigurationException, match="node_count=2 cannot run.*process_count"):
        rank_envs(JobSpec(processes=2, node_count=2, backend="pytorch"))
    assert rank_envs(JobSpec()) == [{}]
