"""The safety runner and the pipeline with the real ``SafetyFilter`` (not a fake)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from control_fakes import IMU, FakePolicy, image
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.pipeline import ControlPipeline
from liquid_controller.control.policy_runner import PolicyRunner, PolicyRunnerConfig
from liquid_controller.control.safety_runner import SafetyRunner, SafetyRunnerConfig
from liquid_controller.safety.filter import SafetyFilter

# The example robot's shipped config: box +-2 N*m, rate 40 N*m/s, traction 10 (u0 + u1) in
# [-12, 12], a soft wheel-speed barrier, zero fallback, timing.max_dt_s 0.1.
CONFIG = Path(__file__).resolve().parents[2] / "config" / "safety.yaml"


def make_runner(require_state: bool = False) -> tuple[SafetyRunner, SafetyFilter]:
    f = SafetyFilter.from_yaml(CONFIG)
    cfg = SafetyRunnerConfig(0.1, require_state, max_dt_s=f.config.timing.max_dt_s)
    return SafetyRunner(f, CommandGuard.from_config(f.config), cfg), f


STATE = ([0.0, 0.0], [1.0, 1.0])


def test_real_filter_passthrough_projection_and_stale_ramp():
    runner, _ = make_runner()
    runner.submit_joint_state(*STATE, stamp_s=0.0, now_s=0.0)
    runner.submit_nominal([0.1, 0.2], stamp_s=0.0, now_s=0.0)
    first = runner.tick(0.0)
    assert first.status == "passthrough" and first.command.tolist() == [0.1, 0.2]
    command = first.command
    now = 0.0
    for _ in range(10):  # converge under the traction row: 10 (u0 + u1) <= 12
        now += 0.02
        runner.submit_joint_state(*STATE, stamp_s=now, now_s=now)
        runner.submit_nominal([2.0, 2.0], stamp_s=now, now_s=now)
        tick = runner.tick(now)
        assert tick.intervened
        command = tick.command
    assert "traction.upper" in tick.active_constraints
    assert command.tolist() == pytest.approx([0.6, 0.6])
    # stale: the filter's own rate-limited ramp to zero (0.8 per 20 ms tick)
    stale = [runner.tick(now + 0.02 * k) for k in range(1, 10)]
    fallbacks = [t for t in stale if t.fallback]
    assert fallbacks and fallbacks[0].status == "fallback_requested"
    assert "stale input: nominal" in fallbacks[0].reason
    assert stale[-1].command.tolist() == [0.0, 0.0]
    assert runner.counters.guard_overrides == 0


wild = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e300, -1e300, 5.0])
)


@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["nominal", "joints", "none"]),
            st.lists(wild, min_size=1, max_size=3),
            st.floats(-0.05, 0.2),
        ),
        min_size=1,
        max_size=30,
    ),
    require_state=st.booleans(),
)
def test_real_filter_runner_output_always_within_limits(events, require_state):
    runner, f = make_runner(require_state)
    guard = runner.guard
    now, prev = 0.0, None
    for kind, values, advance in events:
        now += advance
        if kind == "nominal":
            runner.submit_nominal(values, stamp_s=now, now_s=now)
        elif kind == "joints":
            runner.submit_joint_state(values, values, stamp_s=now, now_s=now)
        tick = runner.tick(now)
        dt = min(max(advance, 0.0), 0.1)
        assert guard.violation(tick.command, prev, dt) == ""
        assert 10 * np.sum(tick.command) <= 12 + 1e-9 and 10 * np.sum(tick.command) >= -12 - 1e-9
        prev = tick.command
    assert runner.counters.guard_overrides == 0 and runner.counters.filter_errors == 0


def test_pipeline_with_real_filter():
    f = SafetyFilter.from_yaml(CONFIG)
    pipeline = ControlPipeline(
        PolicyRunner(FakePolicy(gain=100.0), PolicyRunnerConfig(0.25, 0.02, 0.5)),
        SafetyRunner(f, CommandGuard.from_config(f.config), SafetyRunnerConfig(0.1)),
    )
    for k in range(20):
        now = 0.02 * k
        pipeline.policy.submit("image", image(), stamp_s=now, now_s=now)
        pipeline.policy.submit("imu", IMU, stamp_s=now, now_s=now)
        pipeline.safety.submit_joint_state(*STATE, stamp_s=now, now_s=now)
        out = pipeline.tick(now)
        assert np.all(np.abs(out.safety.command) <= 2.0)
    assert out.safety.intervened and not out.safety.fallback
    assert out.safety.command.tolist() == pytest.approx([0.6, 0.6])
