"""Proportion of days covered (PDC) from pharmacy fills: a generic implementation of the usual
algorithm (shared/CLINICAL.md), not an official PQA measure.

- The treatment period runs from the first fill in the window (the index date) to the end of the
  window.
- An early refill of the same medication does not count twice: its days start when the supply on
  hand runs out ("shift forward").
- For a class, different drugs filled on the same day run concurrently: a day is covered when any
  drug of the class covers it.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

ADHERENCE_THRESHOLD = 0.8
WINDOW_DAYS = 365


@dataclass(frozen=True)
class Fill:
    day: datetime.date
    days_supply: int


@dataclass(frozen=True)
class Coverage:
    start: datetime.date  # index date
    end: datetime.date  # last day of the window
    days_in_period: int
    days_covered: int

    @property
    def pdc(self) -> float:
        return self.days_covered / self.days_in_period

    @property
    def below_threshold(self) -> bool:
        return self.pdc < ADHERENCE_THRESHOLD


def supply_intervals(fills: Iterable[Fill]) -> list[tuple[datetime.date, datetime.date]]:
    """[first day, day after the last) of each fill of one medication, early refills shifted to
    start when the supply on hand runs out."""
    intervals = []
    supply_until: datetime.date | None = None  # the day after the last covered day
    for fill in sorted(fills, key=lambda f: f.day):
        start = max(fill.day, supply_until) if supply_until else fill.day
        supply_until = start + datetime.timedelta(days=fill.days_supply)
        intervals.append((start, supply_until))
    return intervals


def covered_days(fills: Iterable[Fill], *, end: datetime.date) -> set[datetime.date]:
    """Days covered by the fills of one medication, early refills shifted forward, up to `end`."""
    return {
        start + datetime.timedelta(days=n)
        for start, stop in supply_intervals(fills)
        for n in range((min(stop, end + datetime.timedelta(days=1)) - start).days)
    }


def _days_in_union(intervals: list[tuple[datetime.date, datetime.date]]) -> int:
    total, reached = 0, None
    for start, stop in sorted(intervals):
        if reached is not None:
            start = max(start, reached)
        if stop > start:
            total += (stop - start).days
            reached = stop
    return total


def coverage(fills_by_drug: dict[str, list[Fill]], *, today: datetime.date) -> Coverage | None:
    """PDC over the last 12 months for one medication (one key) or a class (one key per drug).
    None when there is no fill in the window."""
    window_start = today - datetime.timedelta(days=WINDOW_DAYS - 1)
    first = min(
        (f.day for fills in fills_by_drug.values() for f in fills if window_start <= f.day <= today),
        default=None,
    )
    if first is None:
        return None
    after_today = today + datetime.timedelta(days=1)
    # Supply carried into the window from an earlier fill counts too.
    clipped = [
        (max(start, first), min(stop, after_today))
        for fills in fills_by_drug.values()
        for start, stop in supply_intervals(fills)
    ]
    return Coverage(
        start=first,
        end=today,
        days_in_period=(today - first).days + 1,
        days_covered=_days_in_union(clipped),
    )
