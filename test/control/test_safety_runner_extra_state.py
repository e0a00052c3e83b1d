"""Plug-in barrier state submitted with the joint state (the lane barrier's lateral_position)."""

from pathlib import Path

import numpy as np

from liquid_controller.control import CommandGuard, SafetyRunner, SafetyRunnerConfig
from liquid_controller.safety.config import load_config
from liquid_controller.safety.filter import SafetyFilter

CONFIG = Path(__file__).resolve().parents[2] / "config" / "sim_safety.yaml"


def runner():
    config = load_config(CONFIG)
    return SafetyRunner(SafetyFilter(config), CommandGuard.from_config(config),
                        SafetyRunnerConfig(input_timeout_s=0.5))  # fmt: skip


def test_lateral_position_reaches_the_lane_barrier():
    free, near_edge = runner(), runner()
    for r, lateral in ((free, 0.0), (near_edge, 0.29)):
        assert r.submit_joint_state(np.zeros(2), np.zeros(2), stamp_s=0.0, now_s=0.0,
                                    extra={"lateral_position": lateral}) is None  # fmt: skip
        r.submit_nominal([0.0, 1.0], stamp_s=0.0, now_s=0.0)  # a hard left turn
    wide, bounded = free.tick(0.0), near_edge.tick(0.0)
    assert "lane[0]" in bounded.active_constraints and "lane[0]" not in wide.active_constraints
    assert bounded.command[1] - bounded.command[0] < wide.command[1] - wide.command[0]


def test_non_finite_extra_state_drops_the_sample():
    r = runner()
    reason = r.submit_joint_state(np.zeros(2), np.zeros(2), stamp_s=0.0, now_s=0.0,
                                  extra={"lateral_position": float("nan")})  # fmt: skip
    assert reason is not None and "lateral_position" in reason
    assert r.counters.dropped["joint_state"] == 1
