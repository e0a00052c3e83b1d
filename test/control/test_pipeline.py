from __future__ import annotations

import numpy as np
import pytest
from control_fakes import IMU, LIMITS, SPEC, FakeFilter, FakePolicy, image

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.pipeline import ControlPipeline
from liquid_controller.control.policy_runner import PolicyRunner, PolicyRunnerConfig
from liquid_controller.control.safety_runner import SafetyRunner, SafetyRunnerConfig
from liquid_controller.errors import ConfigError
from liquid_controller.runtime.spec import ActionSpec, PolicySpec

PCFG = PolicyRunnerConfig(input_timeout_s=0.25, nominal_period_s=0.02, max_dt_s=0.5)
SCFG = SafetyRunnerConfig(input_timeout_s=0.1)


def clock():
    return 0.0


def make_pipeline(gain: float = 0.5) -> ControlPipeline:
    return ControlPipeline(
        PolicyRunner(FakePolicy(gain=gain), PCFG, timer=clock),
        SafetyRunner(FakeFilter(), CommandGuard(LIMITS), SCFG, timer=clock),
    )


def two_nodes(gain: float = 0.5) -> tuple[PolicyRunner, SafetyRunner]:
    return (
        PolicyRunner(FakePolicy(gain=gain), PCFG, timer=clock),
        SafetyRunner(FakeFilter(), CommandGuard(LIMITS), SCFG, timer=clock),
    )


def test_composed_equals_two_separate_nodes_when_healthy():
    pipeline = make_pipeline()
    policy, safety = two_nodes()
    for k in range(40):
        now = 0.02 * k
        for runner in (pipeline.policy, policy):
            runner.submit("image", image(k % 7), stamp_s=now, now_s=now)
            runner.submit("imu", IMU * (1 + 0.1 * k), stamp_s=now, now_s=now)
        composed = pipeline.tick(now)
        # separate nodes: policy tick -> nominal message -> filter node tick (same time)
        p = policy.tick(now)
        if p.nominal is not None:
            safety.submit_nominal(p.nominal, stamp_s=p.stamp_s, now_s=now)
        s = safety.tick(now)
        assert np.array_equal(composed.safety.command, s.command)
        assert composed.safety.status == s.status
    assert not composed.safety.fallback


def test_composed_falls_back_on_the_tick_the_policy_goes_stale():
    pipeline = make_pipeline()
    pipeline.policy.submit("image", image(), stamp_s=0.0, now_s=0.0)
    pipeline.policy.submit("imu", IMU, stamp_s=0.0, now_s=0.0)
    assert not pipeline.tick(0.0).safety.fallback
    out = pipeline.tick(0.26)
    assert out.policy.nominal is None
    assert out.safety.fallback and "policy has stale inputs ['image', 'imu']" in out.safety.reason


def test_policy_error_gives_safe_command():
    pipeline = make_pipeline()
    pipeline.policy.submit("image", image(), stamp_s=0.0, now_s=0.0)
    pipeline.policy.submit("imu", IMU, stamp_s=0.0, now_s=0.0)
    pipeline.tick(0.0)
    pipeline.policy._policy.fail = True  # the fake's switch
    pipeline.policy.submit("imu", IMU, stamp_s=0.02, now_s=0.02)
    out = pipeline.tick(0.02)
    assert out.safety.fallback and "RuntimeError: boom" in out.safety.reason


def test_action_size_must_match_actuators():
    spec3 = PolicySpec(
        action=ActionSpec(("a", "b", "c"), ("N",) * 3), vectors=SPEC.vectors, image=SPEC.image
    )
    with pytest.raises(ConfigError, match="3 actions"):
        ControlPipeline(
            PolicyRunner(FakePolicy(spec3), PCFG),
            SafetyRunner(FakeFilter(), CommandGuard(LIMITS), SCFG),
        )
    pipeline = make_pipeline()
    old = pipeline.policy.spec
    with pytest.raises(ConfigError, match="model_path"):
        pipeline.replace_policy(FakePolicy(spec3))
    assert pipeline.policy.spec is old
    pipeline.replace_policy(FakePolicy(gain=2.0))


def test_two_node_chain_falls_back_within_both_timeouts_plus_one_period():
    """Camera stops: the policy stops publishing, then the filter's nominal times out."""
    policy, safety = two_nodes()
    period, now, last_camera = 0.02, 0.0, None
    fallback_at = None
    for k in range(60):
        now = period * k
        if now < 0.4:  # sensors stop at 0.4 s
            policy.submit("image", image(), stamp_s=now, now_s=now)
            policy.submit("imu", IMU, stamp_s=now, now_s=now)
            last_camera = now
        p = policy.tick(now)
        if p.nominal is not None:
            safety.submit_nominal(p.nominal, stamp_s=p.stamp_s, now_s=now)
        s = safety.tick(now)
        if s.fallback and now > 0.0 and fallback_at is None:
            fallback_at = now
    assert fallback_at is not None
    deadline = last_camera + PCFG.input_timeout_s + SCFG.input_timeout_s + period
    assert fallback_at <= deadline + 1e-9
    assert np.all(s.command == 0.0)  # ramped all the way down by the end
