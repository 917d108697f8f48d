"""`StepSequence`: each element runs after every step of the previous element."""

from __future__ import annotations

from typing import Any


class StepSequence:
    """`StepSequence(steps=[s1, [s2, s3], s4])`: s2 and s3 after s1, s4 after both; lists nest."""

    def __init__(self, steps: list[Any] | None = None) -> None:
        self._steps = list(steps or [])

    @property
    def steps(self) -> list[Any]:
        return self._steps

    def __repr__(self) -> str:
        return f"StepSequence({self._steps!r})"


__all__ = ["StepSequence"]
