"""Aggregates only, and none from fewer than K residents.

Every figure the analytics pages or exports show is a ``Figure``: its value and how many residents it
comes from. From 1 to K-1 residents it is shown as "<10", in the page, the chart and the exports alike
(a nought from no one is shown as 0). Where
a figure spans several days and its residents cannot be added up (one resident paying on two days is one
resident), the largest day's count stands for them: never more than the true number, so a figure is
hidden whenever it might come from fewer than K.
"""

from __future__ import annotations

from dataclasses import dataclass

K = 10
HIDDEN = "<10"


@dataclass(frozen=True)
class Figure:
    value: int
    residents: int

    @property
    def shown(self) -> bool:
        """A nought from nobody (a day without payments) singles no one out: it is shown."""
        return self.residents >= K or (self.residents == 0 and self.value == 0)

    def cell(self) -> int | str:
        """What an export writes: the value, or "<10"."""
        return self.value if self.shown else HIDDEN


def count(value: int) -> Figure:
    """A count of residents is its own number of residents (registrations, payers)."""
    return Figure(value, value)
