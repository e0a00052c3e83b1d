from __future__ import annotations

import numpy as np
import pytest
from control_fakes import LIMITS, FakeFilter

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.safety_runner import (
    RunnerStatus,
    SafetyRunner,
    SafetyRunnerConfig,
)
from liquid_controller.errors import ConfigError
from liquid_controller.safety.config import ActuatorLimits

CFG = SafetyRunnerConfig(input_timeout_s=0.1, require_joint_state=False, max_dt_s=0.1)


def make(config: SafetyRunnerConfig = CFG) -> tuple[SafetyRunner, FakeFilter]:
    f = FakeFilter()
    return SafetyRunner(f, CommandGuard(LIMITS), config), f


def test_before_any_nominal_the_safe_command_is_published():
    runner, _ = make()
    tick = runner.tick(0.0)
    assert tick.fallback and tick.nominal is None and tick.intervened
    assert tick.status == "fallback_stale_input"
    assert "nominal never received" in tick.reason
    assert tick.command.tolist() == [0.0, 0.0]


def test_fresh_nominal_is_filtered():
    runner, f = make()
    runner.tick(0.0)
    assert runner.submit_nominal([0.1, -0.1], stamp_s=7.0, now_s=0.01) is None
    tick = runner.tick(0.02)
    assert not tick.fallback and tick.status == "passthrough" and not tick.intervened
    assert tick.command.tolist() == [0.1, -0.1] and tick.stamp_s == 7.0
    assert tick.nominal.tolist() == [0.1, -0.1]


def test_stale_nominal_falls_back_within_timeout_plus_one_period_and_ramps():
    runner, f = make()
    period = 0.02
    now = 0.0
    u = np.array([1.0, 1.0])
    # converge to the nominal first (rate limit 40/s)
    for _ in range(10):
        runner.submit_nominal(u, stamp_s=now, now_s=now)
        runner.tick(now)
        now += period
    last_arrival = now - period
    ticks = []
    while now <= last_arrival + 0.1 + period + 1e-9:
        ticks.append(runner.tick(now))
        now += period
    assert not ticks[0].fallback
    assert ticks[-1].fallback and ticks[-1].status == "fallback_stale_input"
    assert "nominal is 0.1" in ticks[-1].reason
    # ramp toward zero at 40/s * 0.02 s = 0.8 per tick
    assert ticks[-1].command.tolist() == pytest.approx([0.2, 0.2])
    assert runner.tick(now).command.tolist() == [0.0, 0.0]


def test_resume_after_stale():
    runner, _ = make()
    runner.tick(0.0)
    runner.tick(0.5)
    runner.submit_nominal([0.1, 0.1], stamp_s=0.6, now_s=0.6)
    tick = runner.tick(0.6)
    assert not tick.fallback and tick.command.tolist() == [0.1, 0.1]
    assert [t.stale for t in tick.transitions] == [False]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([np.nan, 0.0], "non-finite"),
        ([np.inf, 0.0], "non-finite"),
        ([0.0], r"shape \(1,\)"),
        ([0.0, 0.0, 0.0], r"shape \(3,\)"),
        ("abc", "not a number array"),
    ],
)
def test_invalid_nominal_dropped_and_counted(value, reason):
    runner, _ = make()
    runner.submit_nominal([0.1, 0.1], stamp_s=0.0, now_s=0.0)
    got = runner.submit_nominal(value, stamp_s=0.01, now_s=0.01)
    assert got is not None and __import__("re").search(reason, got)
    assert runner.counters.dropped["nominal"] == 1
    tick = runner.tick(0.02)
    assert tick.command.tolist() == [0.1, 0.1]  # the last valid nominal


def test_filter_exception_gives_guard_ramp_and_is_counted():
    runner, f = make()
    runner.submit_nominal([2.0, 2.0], stamp_s=0.0, now_s=0.0)
    runner.tick(0.0)
    runner.tick(0.1)  # reaches 2.0 after two ticks
    f.mode = "raise"
    runner.submit_nominal([2.0, 2.0], stamp_s=0.12, now_s=0.12)
    tick = runner.tick(0.12)
    assert tick.fallback and tick.status == RunnerStatus.FILTER_ERROR.value
    assert "ValueError: solver exploded" in tick.reason
    assert tick.command.tolist() == pytest.approx([1.2, 1.2])  # 2.0 - 40 * 0.02
    assert runner.counters.filter_errors == 1


def test_filter_garbage_is_overridden_by_guard():
    runner, f = make()
    f.mode = "garbage"
    runner.submit_nominal([0.5, 0.5], stamp_s=0.0, now_s=0.0)
    tick = runner.tick(0.0)
    assert tick.status == RunnerStatus.GUARD.value and tick.fallback
    assert "not finite" in tick.reason
    assert tick.command.tolist() == [0.0, 0.0]
    assert runner.counters.guard_overrides == 1


def test_joint_state_passed_when_fresh_and_required_when_configured():
    runner, f = make(SafetyRunnerConfig(0.1, require_joint_state=True))
    runner.submit_nominal([0.1, 0.1], stamp_s=0.0, now_s=0.0)
    tick = runner.tick(0.0)
    assert tick.fallback and "joint_state never received" in tick.reason
    assert runner.submit_joint_state([0.0, 1.0], [2.0, 3.0], stamp_s=0.0, now_s=0.01) is None
    runner.submit_nominal([0.1, 0.1], stamp_s=0.01, now_s=0.01)
    tick = runner.tick(0.02)
    assert not tick.fallback
    assert f.states[-1]["joint_position"].tolist() == [0.0, 1.0]
    assert f.states[-1]["joint_velocity"].tolist() == [2.0, 3.0]


def test_stale_joint_state_not_required_is_passed_as_none():
    runner, f = make()
    runner.submit_joint_state([0.0, 1.0], [2.0, 3.0], stamp_s=0.0, now_s=0.0)
    runner.submit_nominal([0.1, 0.1], stamp_s=0.5, now_s=0.5)
    tick = runner.tick(0.5)
    assert not tick.fallback and f.states[-1] is None


@pytest.mark.parametrize(
    ("pos", "vel", "reason"),
    [([np.nan, 0.0], [0.0, 0.0], "position"), ([0.0, 0.0], [0.0], "velocity")],
)
def test_invalid_joint_state_dropped(pos, vel, reason):
    runner, _ = make()
    assert reason in runner.submit_joint_state(pos, vel, stamp_s=0.0, now_s=0.0)
    assert runner.counters.dropped["joint_state"] == 1


def test_withdrawn_nominal_falls_back_immediately():
    runner, _ = make()
    runner.submit_nominal([0.1, 0.1], stamp_s=0.0, now_s=0.0)
    runner.withdraw_nominal("policy has stale inputs ['image']")
    tick = runner.tick(0.0)
    assert tick.fallback and "policy has stale inputs" in tick.reason


def test_shutdown_command_jumps_to_safe_target():
    runner, _ = make()
    runner.submit_nominal([2.0, 2.0], stamp_s=0.0, now_s=0.0)
    runner.tick(0.0)
    runner.tick(0.1)
    assert runner.last_command.tolist() == [2.0, 2.0]
    assert runner.shutdown_command().tolist() == [0.0, 0.0]


def test_after_hold_the_rate_limits_ramp_from_the_held_command():
    runner, f = make()
    runner.submit_nominal([2.0, 2.0], stamp_s=0.0, now_s=0.0)
    runner.tick(0.0)
    runner.tick(0.1)
    runner.hold(runner.shutdown_command(), 0.2)  # deactivated: the safe target went out
    assert runner.last_command.tolist() == [0.0, 0.0]
    assert f.resets[-1][0].tolist() == [0.0, 0.0] and f.resets[-1][1] == 0.2
    runner.submit_nominal([2.0, 2.0], stamp_s=0.21, now_s=0.21)  # re-activated
    tick = runner.tick(0.21)
    # LIMITS' rate is 40/s: 0.01 s after the held zero command, at most 0.4 (not 2.0)
    assert not tick.fallback and np.allclose(tick.command, [0.4, 0.4])


def test_replace_filter_checks_size_and_keeps_last_command():
    runner, _ = make()
    runner.submit_nominal([1.0, 1.0], stamp_s=0.0, now_s=0.0)
    runner.tick(0.0)
    wider = ActuatorLimits(("a", "b", "c"), (-1.0,) * 3, (1.0,) * 3)
    with pytest.raises(ConfigError, match="safety_config"):
        runner.replace_filter(FakeFilter(wider), CommandGuard(wider))
    tighter = ActuatorLimits(LIMITS.names, (-0.5, -0.5), (0.5, 0.5), LIMITS.rate_max)
    runner.replace_filter(FakeFilter(tighter), CommandGuard(tighter))
    tick = runner.tick(0.02)
    assert not tick.fallback and tick.command.tolist() == [0.5, 0.5]
    assert runner.last_command.tolist() == [0.5, 0.5]


def test_counters_and_statuses():
    runner, _ = make()
    runner.tick(0.0)
    runner.submit_nominal([5.0, 0.0], stamp_s=0.0, now_s=0.0)
    runner.tick(0.1)
    c = runner.counters
    assert c.ticks == 2 and c.fallbacks == 1 and c.interventions == 2
    assert c.statuses == {"fallback_stale_input": 1, "optimal": 1}


@pytest.mark.parametrize("kwargs", [{"input_timeout_s": 0.0}, {"max_dt_s": float("inf")}])
def test_config_validated(kwargs):
    with pytest.raises(ConfigError):
        SafetyRunnerConfig(**kwargs)


def test_guard_override_resyncs_the_filter_rate_reference():
    runner, f = make()
    f.mode = "garbage"
    runner.submit_nominal([0.5, 0.5], stamp_s=0.0, now_s=0.0)
    tick = runner.tick(0.0)
    assert f.resets == [(pytest.approx(tick.command), 0.0)]


def test_gains_are_passed_to_the_filter():
    runner, f = make()
    runner.submit_nominal([0.1, 0.1], stamp_s=0.0, now_s=0.0, gains=[3.0])
    runner.tick(0.0)
    assert f.gains[-1].tolist() == [3.0]
    runner.submit_nominal([0.1, 0.1], stamp_s=0.0, now_s=0.01)
    runner.tick(0.01)
    assert f.gains[-1] is None


def test_filter_own_fallback_statuses_mark_fallback():
    class Infeasible(FakeFilter):
        def filter(self, u_nominal, state=None, t=None, gains=None):
            result = self.fallback("hard constraints cannot all hold", t)
            return result._replace(status="fallback_infeasible")

    runner = SafetyRunner(Infeasible(), CommandGuard(LIMITS), CFG)
    runner.submit_nominal([0.1, 0.1], stamp_s=0.0, now_s=0.0)
    tick = runner.tick(0.0)
    assert tick.fallback and tick.status == "fallback_infeasible" and tick.nominal is not None
