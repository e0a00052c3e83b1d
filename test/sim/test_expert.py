"""The privileged expert completes a lap on every track without a lane departure.

Physics only (no camera: the expert drives from ground truth), randomised worlds and
perturbations on, as when collecting data.
"""

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")

from liquid_controller.sim.expert import Expert, Perturbations  # noqa: E402
from liquid_controller.sim.lane_env import LaneKeepingEnv  # noqa: E402
from liquid_controller.sim.track import track_names  # noqa: E402


@pytest.mark.parametrize("track", track_names())
def test_expert_laps_every_track_without_departure(track):
    env = LaneKeepingEnv(track, render_camera=False, laps=1.0, max_seconds=90.0)
    _, info = env.reset(seed=7)
    expert = Expert(env.description, env.track, perturbations=Perturbations(), seed=7)
    worst = 0.0
    terminated = truncated = False
    action = np.zeros(2)
    while not (terminated or truncated):
        _, _, terminated, truncated, info = env.step(action)
        worst = max(worst, abs(info["lateral_m"]))
        action = expert.command(env.sim.truth(), env.sim.joint_state()[1], env.period_s)
        assert np.all(np.abs(action) <= 2.0)
    env.close()
    assert not terminated
    assert info["laps"] >= 1.0, f"only {info['laps']:.2f} laps in {info['time_s']:.0f} s"
    assert worst < env.track.half_width_m


def test_the_intended_command_is_the_clean_experts_while_the_executed_one_is_noisy():
    env = LaneKeepingEnv("corners", render_camera=False, max_seconds=20.0)
    env.reset(seed=3)
    noisy = Expert(env.description, env.track, perturbations=Perturbations(drift_rate_per_s=0.0),
                   seed=3)  # fmt: skip
    clean = Expert(env.description, env.track, seed=3)
    for _ in range(300):
        truth, speed = env.sim.truth(), env.sim.joint_state()[1]
        command, intended = noisy.act(truth, speed, env.period_s)
        np.testing.assert_allclose(intended, clean.command(truth, speed, env.period_s))
        assert not np.allclose(command, intended)
        env.step(command)
    env.close()


def test_during_a_drift_the_intended_command_steers_for_the_centre_line():
    env = LaneKeepingEnv("oval", render_camera=False, max_seconds=20.0)
    env.reset(seed=4)
    drifts = Perturbations(command_noise_nm=0.0, drift_rate_per_s=2.0, drift_offset_m=0.3)
    expert = Expert(env.description, env.track, perturbations=drifts, seed=4)
    differ = 0
    for _ in range(300):
        command, intended = expert.act(env.sim.truth(), env.sim.joint_state()[1], env.period_s)
        differ += not np.allclose(command, intended)
        env.step(command)
    env.close()
    assert 30 < differ < 300  # drifting part of the time, and only then
