"""Items 72, 73, 77, 78: init/shutdown once per process, the append_row format, argv, EntryScript."""

from __future__ import annotations

import re

import pandas as pd  # noqa: F401 - imported before fork, as an Airflow worker would


def test_init_once_per_process_before_run_and_shutdown_once(script, make_settings, files, drive, side_log,
                                                            log_of, lines_of) -> None:
    source = script('''
        def init():
            note(event="init")
        def run(mini_batch):
            note(event="run", n=len(mini_batch))
            return [os.path.basename(p) for p in mini_batch]
        def shutdown():
            note(event="shutdown")
    ''')
    summary = drive(make_settings(source), files(9), processes=2)
    assert summary.status == "Completed", summary
    log = log_of(side_log)
    pids = {e["pid"] for e in log}
    assert len(pids) == 2  # worker count = processes (node_count x process_count_per_node)
    for pid in pids:
        events = [e["event"] for e in log if e["pid"] == pid]
        assert events.count("init") == 1 and events[0] == "init"
        assert events.count("shutdown") == 1 and events[-1] == "shutdown"
    assert sum(e["n"] for e in log if e["event"] == "run") == 9
    assert sorted(lines_of(summary)) == [f"f{i:04d}.txt" for i in range(9)]
    assert (summary.total, summary.done, summary.failed, summary.succeeded_items) == (5, 5, 0, 9)


def test_append_row_lines_for_lists_and_dataframes(script, make_settings, files, drive, lines_of) -> None:
    source = script('''
        import pandas as pd
        def run(mini_batch):
            if any(p.endswith("0000.txt") for p in mini_batch):
                return ["a", "b"]
            return pd.DataFrame({"n": [1, 2], "s": ["x", "y"]})
    ''')
    summary = drive(make_settings(source), files(4), processes=1)
    assert lines_of(summary) == ["a", "b", "1 x", "2 y"]  # manifest order, no header or index


def test_summary_only_writes_no_output_file(script, make_settings, files, drive) -> None:
    source = script('''
        def run(mini_batch):
            return mini_batch
    ''')
    summary = drive(make_settings(source, output_action="summary_only", append_row_file_name=None), files(3))
    assert summary.status == "Completed" and summary.output_file is None and summary.succeeded_items == 3


def test_argv_has_user_and_driver_arguments_for_parse_known_args(script, make_settings, files, drive,
                                                                 side_log, log_of, tmp_path) -> None:
    source = script('''
        import argparse
        def init():
            parser = argparse.ArgumentParser()
            parser.add_argument("--model_name")
            args, _ = parser.parse_known_args()
            try:
                argparse.ArgumentParser(exit_on_error=False).parse_args(["--model_name", "m"] + sys.argv[1:3])
                strict = "ok"
            except (SystemExit, argparse.ArgumentError):
                strict = "fails"
            note(event="args", model=args.model_name, argv=sys.argv, strict=strict)
        def run(mini_batch):
            return mini_batch
    ''')
    settings = make_settings(source, arguments=[{"kind": "literal", "value": "--model_name", "output": False},
                                                {"kind": "literal", "value": "mnist", "output": False}])
    drive(settings, files(2), processes=1)
    entry = [e for e in log_of(side_log) if e["event"] == "args"][0]
    assert entry["model"] == "mnist" and entry["strict"] == "fails"
    argv = entry["argv"]
    assert argv[0].endswith("score.py")
    assert argv[argv.index("--output") + 1] == str(tmp_path / "out")
    assert argv[argv.index("--mini_batch_size") + 1] == "2"
    assert argv[-2:] == ["--model_name", "mnist"]


def test_entry_script_helper(script, make_settings, files, drive, side_log, log_of, tmp_path) -> None:
    source = script('''
        from azureml_user.parallel_run import EntryScript
        def init():
            global FIRST
            FIRST = EntryScript()
            FIRST.logger.info("hello from init")
        def run(mini_batch):
            e = EntryScript()
            note(same=e is FIRST, out=e.output_dir, env=os.environ["AZUREML_BI_OUTPUT_PATH"], agent=e.agent_name)
            return mini_batch
    ''')
    drive(make_settings(source), files(4), processes=2)
    log = log_of(side_log)
    assert log and all(e["same"] and e["out"] == e["env"] == str(tmp_path / "out") for e in log)
    agents = {e["agent"] for e in log}
    assert all(re.fullmatch(r"process\d+", a) for a in agents)
    assert len({(e["agent"], e["pid"]) for e in log}) == len({e["pid"] for e in log})
    logs = list((tmp_path / "work" / "logs" / "user" / "entry_script_log").rglob("process*.log.txt"))
    assert any("hello from init" in p.read_text() for p in logs)


def test_tabular_mini_batches_reach_run_as_dataframes(script, make_settings, drive, tmp_path,
                                                      lines_of) -> None:
    from aml_bridge.parallel import manifest

    pd.DataFrame({"a": range(300)}).to_csv(tmp_path / "t.csv", index=False)
    source = script('''
        def run(mini_batch):
            return [int(a) * 2 for a in mini_batch["a"]]
    ''')
    batches = manifest.build("tabular", [str(tmp_path / "t.csv")], 200)
    summary = drive(make_settings(source, input_kind="tabular", mini_batch_size=200), [], batches=batches)
    assert summary.status == "Completed" and len(batches) > 3
    assert lines_of(summary) == [str(2 * a) for a in range(300)]


def test_workers_get_the_step_environment(script, make_settings, files, drive, side_log, log_of) -> None:
    source = script('''
        def run(mini_batch):
            note(run_id=os.environ.get("AZUREML_RUN_ID"), custom=os.environ.get("CUSTOM"), cwd=os.getcwd())
            return mini_batch
    ''')
    settings = make_settings(source, environment_variables={"CUSTOM": "yes"})
    drive(settings, files(4), env={"AZUREML_RUN_ID": "step-run-1"})
    log = log_of(side_log)
    assert {(e["run_id"], e["custom"]) for e in log} == {("step-run-1", "yes")}
    assert all("/workers/process" in e["cwd"] for e in log)  # each worker in its own folder


def test_no_mini_batches_completes_with_an_empty_output(script, make_settings, drive, lines_of) -> None:
    source = script('''
        def run(mini_batch):
            return mini_batch
    ''')
    summary = drive(make_settings(source), [], batches=[])
    assert (summary.status, summary.total) == ("Completed", 0) and lines_of(summary) == []


def test_run_may_start_its_own_processes(script, make_settings, files, drive, lines_of) -> None:
    source = script('''
        import multiprocessing
        def run(mini_batch):
            with multiprocessing.get_context("fork").Pool(1) as pool:
                return pool.map(os.path.basename, mini_batch)
    ''')
    summary = drive(make_settings(source), files(2), processes=1)
    assert summary.status == "Completed" and lines_of(summary) == ["f0000.txt", "f0001.txt"]
