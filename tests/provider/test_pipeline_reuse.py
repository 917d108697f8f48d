"""Reuse (checklist item 64) and StepSequence ordering (item 59), through `dag.test()`.

A side-effect log outside the source folders counts real executions: a reused step never runs.
"""

from __future__ import annotations

import os
import time

from aml_bridge import Experiment
from aml_bridge.pipeline import Pipeline, PipelineData, PythonScriptStep, StepSequence
from tests.provider.helpers import script, side_effects


def _pipeline(ws, tmp_path, version=None):
    log = tmp_path / "executions.log"
    o1 = PipelineData("o1", datastore=ws.get_default_datastore())
    _s1 = PythonScriptStep("s1.py", source_directory=str(tmp_path / "src1"), outputs=[o1],
                          arguments=["--out", o1, "--log", str(log)], version=version)
    s2 = PythonScriptStep("s2.py", source_directory=str(tmp_path / "src2"), inputs=[o1],
                          arguments=["--inp", o1, "--log", str(log)])
    return Pipeline(ws, [s2]), log


def _sources(tmp_path):
    script(tmp_path / "src1", "s1.py", """
        p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--log"); a = p.parse_args()
        os.makedirs(a.out, exist_ok=True)
        open(os.path.join(a.out, "x.txt"), "w").write("payload")
        open(a.log, "a").write("s1\\n")
    """)
    (tmp_path / "src1" / ".amlignore").write_text("ignored.txt\n")
    (tmp_path / "src1" / "ignored.txt").write_text("v1")
    script(tmp_path / "src2", "s2.py", """
        p = argparse.ArgumentParser(); p.add_argument("--inp"); p.add_argument("--log"); a = p.parse_args()
        assert open(os.path.join(a.inp, "x.txt")).read() == "payload"
        open(a.log, "a").write("s2\\n")
    """)
    (tmp_path / "src2" / "extra.txt").write_text("v1")


def test_reuse_follows_content_not_mtime(ws, tmp_path):
    _sources(tmp_path)
    exp = Experiment(ws, "reuse")

    def submit(**kwargs):
        pipeline, log = _pipeline(ws, tmp_path, kwargs.pop("version", None))
        before = len(side_effects(log))
        run = exp.submit(pipeline, **kwargs)
        assert run.get_status() == "Completed"
        return run, side_effects(log)[before:]

    first, ran = submit()
    assert ran == ["s1", "s2"]
    second, ran = submit()
    assert ran == []  # unchanged: every step reused, nothing executed
    reused = {s.name: s for s in second.get_steps()}
    originals = {s.name: s for s in first.get_steps()}
    assert reused["s1.py"].get_tags()["azureml.reusedrunid"] == originals["s1.py"].id
    assert (reused["s1.py"].get_output_data("o1").path_on_datastore
            == originals["s1.py"].get_output_data("o1").path_on_datastore)

    later = time.time() + 5
    os.utime(tmp_path / "src1" / "s1.py", (later, later))
    assert submit()[1] == []  # mtime only: still reused
    (tmp_path / "src1" / "ignored.txt").write_text("v2")
    assert submit()[1] == []  # .amlignore'd file: still reused
    (tmp_path / "src2" / "extra.txt").write_text("v2")
    assert submit()[1] == ["s2"]  # content change in s2's folder: only s2 reruns
    assert submit(version="2")[1] == ["s1", "s2"]  # version change: s1 and its dependent rerun
    assert submit(version="2", regenerate_outputs=True)[1] == ["s1", "s2"]


def test_step_sequence_orders_groups(ws, tmp_path):
    src = tmp_path / "src"
    for name in ("s1", "s2", "s3"):
        script(src, f"{name}.py", """
            run.log("start", time.time()); time.sleep(0.2); run.log("end", time.time())
        """)
    s1, s2, s3 = (PythonScriptStep(f"{n}.py", source_directory=str(src), allow_reuse=False) for n in ("s1", "s2", "s3"))
    run = Experiment(ws, "sequence").submit(Pipeline(ws, StepSequence(steps=[[s1, s2], s3])))
    times = {s.name: s.get_metrics() for s in run.get_steps()}
    assert times["s3.py"]["start"] > max(times["s1.py"]["end"], times["s2.py"]["end"])
