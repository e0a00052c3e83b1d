from __future__ import annotations

import numpy as np
import pytest
from control_fakes import IMU, FakePolicy, image

from liquid_controller.control.policy_runner import (
    DtClamp,
    PolicyRunner,
    PolicyRunnerConfig,
    PolicyTickStatus,
)
from liquid_controller.errors import ConfigError, ObservationError

CFG = PolicyRunnerConfig(
    input_timeout_s=0.25, nominal_period_s=0.02, max_dt_s=0.5, reset_on_resume=True
)


class StepTimer:
    """Each call advances 1 ms: inference time is exactly 1 ms per step."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.001
        return self.t


def feed(runner: PolicyRunner, stamp: float, now: float, img: int = 0) -> None:
    assert runner.submit("image", image(img), stamp_s=stamp, now_s=now) is None
    assert runner.submit("imu", IMU, stamp_s=stamp, now_s=now) is None


def make(config: PolicyRunnerConfig = CFG) -> tuple[PolicyRunner, FakePolicy]:
    policy = FakePolicy()
    return PolicyRunner(policy, config, timer=StepTimer()), policy


def test_no_inputs_means_stale_and_no_nominal():
    runner, policy = make()
    tick = runner.tick(0.0)
    assert tick.status is PolicyTickStatus.STALE_INPUT
    assert tick.nominal is None and tick.step is None
    assert tick.stale_inputs == ("image", "imu")
    assert policy.dts == []


def test_dt_comes_from_stamps_not_tick_times():
    runner, policy = make()
    feed(runner, stamp=100.0, now=0.0)
    first = runner.tick(0.001)
    assert first.status is PolicyTickStatus.STEPPED
    assert first.state_reset and first.dt_clamp is DtClamp.FIRST_STEP
    assert first.dt_s == 0.02 and first.stamp_s == 100.0
    assert first.inference_time_s == pytest.approx(0.001)
    feed(runner, stamp=100.033, now=0.05)  # ticks 49 ms apart, stamps 33 ms apart
    second = runner.tick(0.05)
    assert second.dt_s == pytest.approx(0.033) and second.dt_clamp is DtClamp.NONE
    assert not second.state_reset
    assert policy.dts == pytest.approx([0.02, 0.033])
    assert second.nominal is not None and second.nominal.shape == (2,)


def test_observation_stamp_is_newest_input():
    runner, policy = make()
    runner.submit("image", image(), stamp_s=10.0, now_s=0.0)
    runner.submit("imu", IMU, stamp_s=10.0, now_s=0.0)
    runner.tick(0.0)
    runner.submit("imu", IMU, stamp_s=10.005, now_s=0.01)  # only the 200 Hz IMU is new
    tick = runner.tick(0.02)
    assert tick.stamp_s == 10.005 and tick.dt_s == pytest.approx(0.005)


def test_no_new_input_repeats_without_stepping():
    runner, policy = make()
    feed(runner, 1.0, 0.0)
    a = runner.tick(0.0)
    b = runner.tick(0.02)
    assert b.status is PolicyTickStatus.REPEATED and b.step is None and b.dt_s == 0.0
    assert np.array_equal(a.nominal, b.nominal)
    assert len(policy.dts) == 1 and runner.counters.repeats == 1


def test_backwards_stamps_and_gaps_are_clamped_and_counted():
    runner, policy = make()
    feed(runner, 5.0, 0.0)
    runner.tick(0.0)
    feed(runner, 4.0, 0.01)  # bag restarted
    back = runner.tick(0.02)
    assert back.dt_clamp is DtClamp.BACKWARDS and back.dt_s == 0.02
    feed(runner, 9.0, 0.03)  # 5 s gap in stamps, inputs still fresh by arrival
    gap = runner.tick(0.04)
    assert gap.dt_clamp is DtClamp.GAP and gap.dt_s == 0.5
    assert runner.counters.dt_clamps == {"first_step": 1, "backwards": 1, "gap": 1}


def test_stale_within_timeout_then_resume_resets_state():
    runner, policy = make()
    feed(runner, 0.0, 0.0)
    assert runner.tick(0.0).nominal is not None
    assert runner.tick(0.25).status is PolicyTickStatus.REPEATED  # at the timeout: fresh
    stale = runner.tick(0.27)
    assert stale.status is PolicyTickStatus.STALE_INPUT and stale.nominal is None
    assert {t.name for t in stale.transitions} == {"image", "imu"}
    assert all(t.stale for t in stale.transitions)
    resets_before = policy.resets
    feed(runner, 1.0, 1.0)
    back = runner.tick(1.0)
    assert back.status is PolicyTickStatus.STEPPED and back.state_reset
    assert back.dt_clamp is DtClamp.FIRST_STEP
    assert policy.resets > resets_before
    assert all(not t.stale for t in back.transitions)


def test_resume_keeps_state_when_configured():
    cfg = PolicyRunnerConfig(0.25, 0.02, 0.5, reset_on_resume=False)
    runner, policy = make(cfg)
    feed(runner, 0.0, 0.0)
    runner.tick(0.0)
    runner.tick(0.3)
    state_before = policy.state
    feed(runner, 3.0, 3.0)
    back = runner.tick(3.0)
    assert not back.state_reset
    assert back.dt_clamp is DtClamp.GAP and back.dt_s == 0.5
    assert policy.state == pytest.approx(state_before + 0.5)


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("imu", np.array([np.nan, 0, 0, 0, 0, 0]), "non-finite"),
        ("imu", np.array([np.inf, 0, 0, 0, 0, 0]), "non-finite"),
        ("imu", np.zeros(5), r"shape \(5,\); expected \(6,\)"),
        ("imu", np.array(["a"] * 6), "dtype"),
        ("image", np.zeros((4, 6, 3), dtype=np.float32), "expected uint8"),
        ("image", np.zeros((5, 6, 3), dtype=np.uint8), "shape"),
    ],
)
def test_invalid_inputs_are_dropped_counted_and_never_reach_the_policy(name, value, reason):
    runner, policy = make()
    feed(runner, 0.0, 0.0)
    got = runner.submit(name, value, stamp_s=0.01, now_s=0.01)
    assert got is not None
    assert __import__("re").search(reason, got)
    assert runner.counters.dropped[name] == 1
    tick = runner.tick(0.02)  # the previous good sample is used
    assert tick.nominal is not None and np.all(np.isfinite(tick.nominal))


@pytest.mark.parametrize("stamp", [float("nan"), float("inf"), "1.0", True])
def test_bad_stamps_are_dropped(stamp):
    runner, _ = make()
    assert "stamp" in runner.submit("imu", IMU, stamp_s=stamp, now_s=0.0)
    assert runner.counters.dropped["imu"] == 1
    assert runner.watchdog.record("imu").last_arrival_s is None


def test_samples_are_copied():
    runner, policy = make()
    imu = IMU.copy()
    feed(runner, 0.0, 0.0)
    runner.submit("imu", imu, stamp_s=0.0, now_s=0.0)
    imu[0] = np.nan  # caller reuses its buffer
    assert np.all(np.isfinite(runner.tick(0.0).nominal))


def test_unknown_input_is_a_wiring_error():
    runner, _ = make()
    with pytest.raises(ObservationError, match="lidar.*expected one of"):
        runner.submit("lidar", IMU, stamp_s=0.0, now_s=0.0)


def test_policy_exception_gives_no_nominal_and_resets_state():
    runner, policy = make()
    feed(runner, 0.0, 0.0)
    runner.tick(0.0)
    policy.fail = True
    feed(runner, 0.02, 0.02)
    tick = runner.tick(0.02)
    assert tick.status is PolicyTickStatus.POLICY_ERROR and tick.nominal is None
    assert tick.error == "RuntimeError: boom"
    assert runner.counters.policy_errors == 1 and runner.counters.last_error == tick.error
    policy.fail = False
    feed(runner, 0.04, 0.04)
    again = runner.tick(0.04)
    assert again.status is PolicyTickStatus.STEPPED and again.state_reset


def test_non_finite_policy_output_is_an_error():
    runner, policy = make()
    policy.nan = True
    feed(runner, 0.0, 0.0)
    tick = runner.tick(0.0)
    assert tick.status is PolicyTickStatus.POLICY_ERROR and tick.nominal is None
    assert "not finite" in tick.error


def test_reset_service_resets_now_and_reports_on_next_step():
    runner, policy = make()
    feed(runner, 0.0, 0.0)
    runner.tick(0.0)
    feed(runner, 0.02, 0.02)
    runner.tick(0.02)
    assert policy.state > 0
    runner.reset()
    assert policy.state == 0.0
    feed(runner, 0.04, 0.04)
    tick = runner.tick(0.04)
    assert tick.state_reset and tick.dt_clamp is DtClamp.FIRST_STEP


def test_reconfigure_changes_timeout():
    runner, _ = make()
    feed(runner, 0.0, 0.0)
    runner.reconfigure(PolicyRunnerConfig(input_timeout_s=1.0))
    assert runner.tick(0.9).nominal is not None


def test_replace_policy_starts_afresh():
    runner, _ = make()
    feed(runner, 0.0, 0.0)
    runner.tick(0.0)
    new = FakePolicy(gain=2.0)
    runner.replace_policy(new)
    assert runner.tick(0.01).status is PolicyTickStatus.STALE_INPUT
    feed(runner, 0.02, 0.02)
    tick = runner.tick(0.02)
    assert tick.state_reset and new.dts == [0.02]


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"input_timeout_s": 0.0}, "input_timeout_s"),
        ({"nominal_period_s": float("nan")}, "nominal_period_s"),
        ({"max_dt_s": -1.0}, "max_dt_s"),
        ({"max_dt_s": 0.01, "nominal_period_s": 0.02}, "max_dt_s"),
        ({"input_timeout_s": True}, "input_timeout_s"),
    ],
)
def test_config_is_validated(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        PolicyRunnerConfig(**kwargs)
