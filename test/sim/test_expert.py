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
