"""Whatever arrives, in whatever order, every emitted command is finite and within limits."""

from __future__ import annotations

import numpy as np
from control_fakes import IMAGE_SHAPE, LIMITS, FakeFilter, FakePolicy
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.pipeline import ControlPipeline
from liquid_controller.control.policy_runner import PolicyRunner, PolicyRunnerConfig
from liquid_controller.control.safety_runner import SafetyRunner, SafetyRunnerConfig
from liquid_controller.safety.config import ActuatorLimits, FallbackMode

wild = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e300, -1e300, 2.0, -2.0]),
)
vectors = st.lists(wild, min_size=0, max_size=8)
stamps = st.one_of(st.floats(-10, 10), st.just(float("nan")), st.just(float("inf")))

event = st.one_of(
    st.tuples(st.just("nominal"), vectors, stamps),
    st.tuples(st.just("joints"), vectors, stamps),
    st.tuples(st.just("imu"), vectors, stamps),
    st.tuples(st.just("image"), st.integers(0, 255), stamps),
    st.tuples(st.just("bad_image"), st.integers(0, 3), stamps),
    st.tuples(st.just("mode"), st.sampled_from(["ok", "raise", "garbage"]), stamps),
    st.tuples(st.just("policy"), st.sampled_from(["ok", "fail", "nan"]), stamps),
)
steps = st.lists(st.tuples(event, st.floats(-0.05, 0.3)), min_size=1, max_size=40)

limits_st = st.builds(
    lambda lo, width, rate, hold: (
        ActuatorLimits(("a", "b"), (lo, lo - 1.0), (lo + width, lo + width), rate),
        FallbackMode.HOLD if hold else FallbackMode.ZERO,
    ),
    st.floats(-5, 5),
    st.floats(0, 5),
    st.one_of(st.none(), st.tuples(st.floats(0, 100), st.floats(0, 100))),
    st.booleans(),
)


def assert_within(guard: CommandGuard, command: np.ndarray, prev, advance: float) -> None:
    """Finite, in the box, and within the rate limit since the previous command."""
    assert command.shape == (2,)
    assert np.all(np.isfinite(command))
    assert np.all(command >= guard.effort_min) and np.all(command <= guard.effort_max)
    dt = min(max(advance, 0.0), 0.1)  # the runners' max_dt_s
    assert guard.violation(command, prev, dt) == ""


def apply(event, now, *, policy, fake_policy, safety, fake_filter):
    kind, value, stamp = event
    if kind == "nominal" and safety is not None:
        safety.submit_nominal(value, stamp_s=stamp, now_s=now)
    elif kind == "joints" and safety is not None:
        safety.submit_joint_state(value, value, stamp_s=stamp, now_s=now)
    elif kind == "imu" and policy is not None:
        policy.submit("imu", value, stamp_s=stamp, now_s=now)
    elif kind == "image" and policy is not None:
        policy.submit("image", np.full(IMAGE_SHAPE, value, np.uint8), stamp_s=stamp, now_s=now)
    elif kind == "bad_image" and policy is not None:
        policy.submit("image", np.zeros((value, 2)), stamp_s=stamp, now_s=now)
    elif kind == "mode":
        fake_filter.mode = value
    elif kind == "policy" and fake_policy is not None:
        fake_policy.fail = value == "fail"
        fake_policy.nan = value == "nan"


@given(steps=steps, config=limits_st, require_state=st.booleans())
def test_safety_runner_commands_are_always_finite_and_within_limits(steps, config, require_state):
    limits, fallback = config
    fake_filter = FakeFilter(limits)
    guard = CommandGuard(limits, fallback)
    runner = SafetyRunner(fake_filter, guard, SafetyRunnerConfig(0.1, require_state))
    now, prev = 0.0, None
    for ev, advance in steps:
        now += advance
        apply(ev, now, policy=None, fake_policy=None, safety=runner, fake_filter=fake_filter)
        tick = runner.tick(now)
        assert_within(guard, tick.command, prev, advance)
        prev = tick.command
        assert np.all(np.isfinite(runner.shutdown_command()))


@given(steps=steps, config=limits_st, gain=st.floats(-1e6, 1e6))
def test_pipeline_commands_are_always_finite_and_within_limits(steps, config, gain):
    limits, fallback = config
    fake_filter = FakeFilter(limits)
    guard = CommandGuard(limits, fallback)
    fake_policy = FakePolicy(gain=gain)
    pipeline = ControlPipeline(
        PolicyRunner(fake_policy, PolicyRunnerConfig(0.25, 0.02, 0.5)),
        SafetyRunner(fake_filter, guard, SafetyRunnerConfig(0.1)),
    )
    now, prev = 0.0, None
    for ev, advance in steps:
        now += advance
        apply(
            ev, now, policy=pipeline.policy, fake_policy=fake_policy,
            safety=pipeline.safety, fake_filter=fake_filter,
        )  # fmt: skip
        out = pipeline.tick(now)
        assert_within(guard, out.safety.command, prev, advance)
        prev = out.safety.command
        if out.policy.nominal is not None:
            assert np.all(np.isfinite(out.policy.nominal))
        assert out.policy.dt_s >= 0.0 and out.policy.dt_s <= 0.5


@given(
    nominals=st.lists(st.tuples(wild, wild), min_size=1, max_size=20),
    dts=st.lists(st.floats(0.001, 0.05), min_size=20, max_size=20),
)
def test_with_a_correct_filter_rate_limits_hold_between_published_commands(nominals, dts):
    guard = CommandGuard(LIMITS)
    runner = SafetyRunner(FakeFilter(LIMITS), guard, SafetyRunnerConfig(0.1, max_dt_s=0.1))
    now = 0.0
    prev = None
    for nominal, dt in zip(nominals, dts, strict=False):
        now += dt
        runner.submit_nominal(nominal, stamp_s=now, now_s=now)
        tick = runner.tick(now)
        assert guard.violation(tick.command, prev, dt) == ""
        assert runner.counters.guard_overrides == 0  # a correct filter is never overridden
        prev = tick.command


@given(
    submissions=st.lists(
        st.tuples(
            st.sampled_from(["image", "imu", "bad_image"]),
            vectors,
            stamps,
            st.floats(-0.05, 0.3),
        ),
        min_size=1,
        max_size=40,
    ),
    reset_on_resume=st.booleans(),
)
def test_policy_only_ever_sees_valid_observations_and_bounded_dt(submissions, reset_on_resume):
    policy = FakePolicy()  # its step() runs spec.check_observation: raises on anything invalid
    cfg = PolicyRunnerConfig(0.25, 0.02, 0.5, reset_on_resume=reset_on_resume)
    runner = PolicyRunner(policy, cfg)
    now = 0.0
    for kind, values, stamp, advance in submissions:
        now += advance
        if kind == "image":
            runner.submit("image", np.full(IMAGE_SHAPE, 7, np.uint8), stamp_s=stamp, now_s=now)
        elif kind == "bad_image":
            runner.submit("image", np.zeros((2, 2)), stamp_s=stamp, now_s=now)
        else:
            runner.submit("imu", values, stamp_s=stamp, now_s=now)
        tick = runner.tick(now)
        assert tick.error == ""  # never an ObservationError from the policy
        if tick.nominal is not None:
            assert np.isfinite(tick.nominal).all()
    assert all(0.0 < dt <= 0.5 for dt in policy.dts)
