"""The report's fixed-size summaries: memory bounded, rows evenly spread, counts exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.replay.bounded import Decimated, TimeBins


@settings(max_examples=60)
@given(capacity=st.integers(2, 64), count=st.integers(0, 2000))
def test_decimated_keeps_at_most_capacity_evenly_spread_rows(capacity, count):
    series = Decimated(capacity)
    for k in range(count):
        series.add(k)
    rows = series.rows
    assert len(rows) <= series.capacity
    assert rows == list(range(0, count, series.stride))  # every stride-th row, from the first
    if count > series.capacity:
        assert len(rows) >= series.capacity // 2  # never thinned more than needed


@settings(max_examples=60)
@given(times=st.lists(st.floats(0.0, 1e5), max_size=300), max_bins=st.integers(2, 16))
def test_time_bins_bounded_and_count_every_event(times, max_bins):
    bins = TimeBins(width_s=1.0, max_bins=max_bins)
    for t in times:
        bins.add(t)
    assert len(bins.counts) <= max_bins
    assert sum(bins.counts.values()) == len(times)
    starts, rates = bins.rates()
    assert abs(float(rates.sum()) * bins.width_s - len(times)) < 1e-6
