"""Items 74-76 and init() failures: fewer results, exceptions, timeouts, dead workers, thresholds."""

from __future__ import annotations

import pytest

FEWER = '''
    def run(mini_batch):
        return mini_batch[:3]
'''
RAISES_ON_FIRST = '''
    def run(mini_batch):
        note(event="run", first=os.path.basename(mini_batch[0]))
        if mini_batch[0].endswith("0000.txt"):
            raise ValueError("bad batch")
        return mini_batch
'''


@pytest.mark.parametrize(("threshold", "status"), [(1, "Failed"), (-1, "Completed"), (2, "Completed")])
def test_fewer_results_count_failed_items(script, make_settings, files, drive, lines_of, threshold,
                                          status) -> None:
    summary = drive(make_settings(script(FEWER), mini_batch_size=5, error_threshold=threshold), files(5))
    assert (summary.status, summary.failed_items, summary.succeeded_items) == (status, 2, 3)
    assert summary.failed == 0 and len(lines_of(summary)) == 3


@pytest.mark.parametrize(("allowed", "status"), [(0, "Failed"), (-1, "Completed"), (1, "Completed")])
def test_raising_batch_tried_run_max_try_times_then_failed(script, make_settings, files, drive, side_log,
                                                            log_of, lines_of, allowed, status) -> None:
    settings = make_settings(script(RAISES_ON_FIRST), run_max_try=3, allowed_failed_count=allowed)
    summary = drive(settings, files(6), processes=1)
    tries = [e for e in log_of(side_log) if e["first"] == "f0000.txt"]
    assert len(tries) == 3
    assert (summary.status, summary.failed, summary.failed_items, summary.done) == (status, 1, 2, 2)
    assert "ValueError: bad batch" in summary.failed_mini_batches[0]
    assert len(lines_of(summary)) == 4


def test_error_threshold_zero_fails_on_first_failed_item(script, make_settings, files, drive) -> None:
    settings = make_settings(script(RAISES_ON_FIRST), run_max_try=1, error_threshold=0)
    summary = drive(settings, files(6), processes=1)
    assert summary.status == "Failed" and "error_threshold" in summary.reason


@pytest.mark.parametrize(("percent", "status"), [(20, "Failed"), (34, "Completed"), (100, "Completed")])
def test_allowed_failed_percent_is_judged_at_the_end(script, make_settings, files, drive, percent,
                                                     status) -> None:
    settings = make_settings(script(RAISES_ON_FIRST), run_max_try=1, allowed_failed_percent=percent)
    summary = drive(settings, files(6), processes=1)   # 1 of 3 mini-batches fails: 33%
    assert (summary.status, summary.done, summary.failed) == (status, 2, 1)


def test_timeout_aborts_and_retries_like_an_exception(script, make_settings, files, drive, side_log,
                                                      log_of) -> None:
    source = script('''
        def init():
            note(event="init")
        def run(mini_batch):
            note(event="run", first=os.path.basename(mini_batch[0]))
            if mini_batch[0].endswith("0000.txt"):
                time.sleep(30)
            return mini_batch
    ''')
    settings = make_settings(source, run_invocation_timeout=1, run_max_try=2)
    summary = drive(settings, files(4), processes=2)
    log = log_of(side_log)
    assert len([e for e in log if e.get("first") == "f0000.txt"]) == 2
    assert summary.failed == 1 and "run_invocation_timeout" in summary.failed_mini_batches[0]
    assert summary.done == 1 and summary.status == "Completed"   # error_threshold -1
    # the first kill is replaced (work is left); after the second, nothing is left to run
    assert len([e for e in log if e["event"] == "init"]) == 3


def test_sigkilled_worker_fails_its_attempt_and_is_replaced(script, make_settings, files, drive, side_log,
                                                            log_of, lines_of) -> None:
    source = script('''
        import signal
        def run(mini_batch):
            note(event="run", first=os.path.basename(mini_batch[0]))
            if mini_batch[0].endswith("0002.txt") and not os.path.exists(LOG + ".killed"):
                open(LOG + ".killed", "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            return mini_batch
    ''')
    summary = drive(make_settings(source), files(6), processes=2)
    assert summary.status == "Completed" and summary.failed == 0
    assert len([e for e in log_of(side_log) if e["first"] == "f0002.txt"]) == 2
    assert sorted(lines_of(summary)) == sorted(set(lines_of(summary))) and len(lines_of(summary)) == 6


def test_init_failure_stops_after_three_times_processes(script, make_settings, files, drive, side_log,
                                                        log_of) -> None:
    source = script('''
        def init():
            note(event="init")
            raise RuntimeError("no model")
        def run(mini_batch):
            return mini_batch
    ''')
    summary = drive(make_settings(source), files(4), processes=2)
    assert summary.status == "Failed" and "init() failed" in summary.reason and "no model" in summary.reason
    # no worker starts after 3 x processes failures; one already starting may still fail
    assert 6 <= summary.init_failures <= 7 and len(log_of(side_log)) == summary.init_failures
