"""Thresholds x failure modes (the issue's matrix): step outcome, failed item/mini-batch counts, lines.

Six files in three mini-batches of two; the one holding f0000 misbehaves, the others succeed.
"""

from __future__ import annotations

import itertools
import os

import pytest

MODES = {
    # mode: (run body for the bad batch, failed items, failed mini-batches)
    "raises": ("raise ValueError('bad')", 2, 1),
    "fewer": ("return mini_batch[:1]", 1, 0),
    "hangs": ("time.sleep(30)", 2, 1),
    "sigkilled": ("os.kill(os.getpid(), 9)", 2, 1),
    "returns_none": ("return None", 2, 1),
    "flaky": ("flaky()", 0, 0),
}
THRESHOLDS = [(-1, None, None), (0, None, None), (1, None, None), (2, None, None), (-1, 0, None),
              (-1, -1, 30.0), (-1, 1, 50.0)]
SCRIPT = '''
def flaky():
    if not os.path.exists(LOG + ".flaky"):
        open(LOG + ".flaky", "w").close()
        raise RuntimeError("first try fails")
    return mini_batch_ok
def init():
    {init}
def run(mini_batch):
    global mini_batch_ok
    mini_batch_ok = mini_batch
    if mini_batch[0].endswith("f0000.txt"):
        {bad}
    return mini_batch
'''


def expected_status(items: int, batches: int, thresholds: tuple) -> str:
    error_threshold, allowed_count, allowed_percent = thresholds
    if error_threshold != -1 and items > error_threshold:
        return "Failed"
    if allowed_count not in (None, -1) and batches > allowed_count:
        return "Failed"
    if allowed_percent is not None and 100 * batches / 3 > allowed_percent:
        return "Failed"
    return "Completed"


@pytest.mark.parametrize(("mode", "thresholds"), list(itertools.product(MODES, THRESHOLDS)))
def test_failure_mode_against_thresholds(script, make_settings, files, drive, lines_of, mode,
                                         thresholds) -> None:
    bad, items, batches = MODES[mode]
    source = script(SCRIPT.format(init="pass", bad=bad))
    error_threshold, allowed_count, allowed_percent = thresholds
    settings = make_settings(source, error_threshold=error_threshold, allowed_failed_count=allowed_count,
                             allowed_failed_percent=allowed_percent, run_invocation_timeout=1,
                             run_max_try=1 if mode == "hangs" else 2)  # a hang costs a whole timeout
    summary = drive(settings, files(6))
    status = expected_status(items, batches, thresholds)
    assert (summary.status, summary.failed_items, summary.failed) == (status, items, batches), summary
    lines = [os.path.basename(line) for line in lines_of(summary)]
    good = [f"f{i:04d}.txt" for i in range(6)]
    assert len(lines) == len(set(lines)) and set(lines) <= set(good)
    if status == "Completed":
        expected = good[:1] + good[2:] if mode == "fewer" else good[2:] if batches else good
        assert sorted(lines) == expected


@pytest.mark.parametrize("thresholds", [(-1, -1, None), (10, None, None)])
def test_init_failing_everywhere_fails_the_step(script, make_settings, files, drive, lines_of,
                                                thresholds) -> None:
    source = script(SCRIPT.format(init="raise RuntimeError('no model')", bad="pass"))
    settings = make_settings(source, error_threshold=thresholds[0], allowed_failed_count=thresholds[1])
    summary = drive(settings, files(6))
    assert summary.status == "Failed" and "no model" in summary.reason and lines_of(summary) == []
