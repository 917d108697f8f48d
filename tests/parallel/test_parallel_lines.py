"""append_row lines: the numeric fast path writes exactly `DataFrame.to_csv(sep=" ", header=False, index=False)`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aml_bridge.parallel.lines import _numeric_columns, frame_lines

RNG = np.random.default_rng(3)
SPECIAL = [0.0, -0.0, 1.0, 0.1, 1e16, 9999999999999998.0, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, 123456789.0]


def _frames() -> list[pd.DataFrame]:
    wide = RNG.normal(size=2000) * 10.0 ** RNG.integers(-30, 30, 2000)
    return [
        pd.DataFrame(RNG.normal(size=(500, 4)), columns=list("abcd")),
        pd.DataFrame({"x": np.concatenate([wide, SPECIAL]), "n": np.arange(len(wide) + len(SPECIAL)) - 7,
                      "u": np.arange(len(wide) + len(SPECIAL), dtype=np.uint64) * 2**40}),
        pd.DataFrame({"i8": np.array([-128, 0, 127], dtype=np.int8), "f": [1.5, -2.25, 3.0]}),
    ]


@pytest.mark.parametrize("frame", _frames())
def test_numeric_frames_take_the_fast_path_with_to_csv_text(frame) -> None:
    assert _numeric_columns(frame) is not None
    assert frame_lines(frame) == frame.to_csv(sep=" ", header=False, index=False)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"s": ["a b", 'q"t', "plain"], "v": [1.0, 2.0, 3.0]}),  # quoting
    pd.DataFrame({"b": [True, False, True]}),
    pd.DataFrame({"f": [1.0, np.nan, 2.0]}),  # NaN -> empty field
    pd.DataFrame({"f32": np.array([0.1, 0.2, 0.3], dtype=np.float32)}),
    pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}),
    pd.DataFrame({"t": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"])}),
])
def test_anything_else_is_written_by_to_csv(frame) -> None:
    assert _numeric_columns(frame) is None
    assert frame_lines(frame) == frame.to_csv(sep=" ", header=False, index=False)


def test_an_empty_frame_writes_nothing() -> None:
    assert frame_lines(pd.DataFrame({"a": []})) == ""
