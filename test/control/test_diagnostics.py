from __future__ import annotations

import math

import numpy as np
import pytest
from control_fakes import IMU, LIMITS, FakeFilter, FakePolicy, image
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.diagnostics import (
    DiagnosticLevel,
    PolicyDiagnostics,
    RateMeter,
    SafetyDiagnostics,
    WindowStats,
)
from liquid_controller.control.policy_runner import PolicyRunner
from liquid_controller.control.safety_runner import SafetyRunner


def test_rate_meter_counts_events_in_window():
    meter = RateMeter(window_s=1.0)
    for k in range(100):
        meter.record(k * 0.02)  # 50 Hz for 2 s
    assert meter.rate_hz(1.98) == pytest.approx(50.0)
    assert meter.rate_hz(10.0) == 0.0
    with pytest.raises(ValueError, match="window_s"):
        RateMeter(0.0)


def test_window_stats_percentiles_over_last_samples():
    stats = WindowStats(size=100)
    assert math.isnan(stats.percentile(50))
    for v in range(1000):
        stats.add(v)
    assert len(stats) == 100
    assert stats.percentile(50) == pytest.approx(949.5)
    assert stats.percentile(99) == pytest.approx(998.01)
    with pytest.raises(ValueError, match="size"):
        WindowStats(0)


@given(
    samples=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60),
    size=st.integers(1, 40),
    qs=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=4),
)
def test_window_stats_percentiles_match_numpy(samples, size, qs):
    stats = WindowStats(size=size)
    for v in samples:
        stats.add(v)
    window = np.asarray(samples[-size:])
    expected = [float(np.percentile(window, q)) for q in qs]
    assert stats.percentiles(*qs) == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert stats.percentile(qs[0]) == pytest.approx(expected[0], rel=1e-12, abs=1e-9)


def test_window_stats_rejects_percentile_outside_0_100():
    stats = WindowStats(size=3)
    assert all(math.isnan(p) for p in stats.percentiles(50, 99))
    with pytest.raises(ValueError, match="q: 101"):
        stats.percentiles(50, 101)


def test_rate_meter_forgets_events_after_a_clock_jump_back():
    meter = RateMeter(window_s=1.0)
    for t in (0.5, 0.6, 5.0, 5.1):
        meter.record(t)
    assert meter.rate_hz(5.2) == pytest.approx(2.0)
    assert meter.rate_hz(0.7) == 0.0  # clock went back: the later events are forgotten
    meter.record(0.8)
    assert meter.rate_hz(0.9) == pytest.approx(1.0)


def values(record):
    return dict(record.values)


def test_policy_records_report_staleness_drops_errors_and_latency():
    runner = PolicyRunner(FakePolicy(), timer=lambda: 0.0)
    diag = PolicyDiagnostics(runner, "policy_node")
    inputs, policy = diag.records(0.0)
    assert inputs.level is DiagnosticLevel.STALE and "image, imu" in inputs.message
    assert values(inputs)["imu.age_s"] == "never"

    for k in range(10):
        now = 0.02 * k
        diag.on_message("image", now)
        diag.on_message("imu", now)
        runner.submit("image", image(), stamp_s=now, now_s=now)
        runner.submit("imu", IMU, stamp_s=now, now_s=now)
        diag.on_tick(runner.tick(now), callback_time_s=0.0005)
    runner.submit("imu", [float("nan")] * 6, stamp_s=0.2, now_s=0.2)
    inputs, policy = diag.records(0.2)
    assert inputs.name == "policy_node: inputs"
    assert inputs.level is DiagnosticLevel.WARN and "imu x1" in inputs.message
    assert values(inputs)["imu.dropped"] == "1"
    assert float(values(inputs)["imu.rate_hz"]) == pytest.approx(5.0)  # 10 in a 2 s window
    # the first step's dt clamp is reported once
    assert policy.level is DiagnosticLevel.WARN and "first_step" in policy.message
    assert values(policy)["callback_p99_us"] == "500.0"
    assert values(policy)["steps"] == "10"
    inputs, policy = diag.records(0.2)
    assert inputs.level is DiagnosticLevel.OK and policy.level is DiagnosticLevel.OK

    runner._policy.fail = True  # the fake's switch
    runner.submit("imu", IMU, stamp_s=0.3, now_s=0.3)
    runner.tick(0.3)
    _, policy = diag.records(0.3)
    assert policy.level is DiagnosticLevel.ERROR and "RuntimeError: boom" in policy.message


def test_safety_records_report_fallbacks_and_failures():
    f = FakeFilter()
    runner = SafetyRunner(f, CommandGuard(LIMITS), timer=lambda: 0.0)
    diag = SafetyDiagnostics(runner, "safety_filter_node")
    diag.on_tick(runner.tick(0.0), 0.0001)
    inputs, status = diag.records(0.0)
    assert inputs.level is DiagnosticLevel.STALE and "nominal" in inputs.message
    assert status.level is DiagnosticLevel.WARN and "safe command published 1x" in status.message
    runner.submit_nominal([0.1, 0.1], stamp_s=0.0, now_s=0.01)
    diag.on_tick(runner.tick(0.02), 0.0001)
    inputs, status = diag.records(0.02)
    assert inputs.level is DiagnosticLevel.OK and status.level is DiagnosticLevel.OK
    assert values(status)["status.passthrough"] == "1"
    assert values(status)["solve_p50_us"] == "10.0"
    f.mode = "raise"
    runner.tick(0.04)
    (status,) = diag.records(0.04, include_inputs=False)
    assert status.level is DiagnosticLevel.ERROR and "solver exploded" in status.message
