"""The shipped policy (resource/default_policy.npz) keeps the lane of the held-out track.

A short closed-loop run behind the safety filter (config/sim_safety.yaml), through the
control pipeline the nodes use, on the held-out ``kidney`` track with a seed no training
episode used: past its right-hand bend (never driven in training on the package's tracks)
without a lane departure or a limit violation. The full 3-lap evaluation is in
resource/README.md and bench/results/default_policy_eval.json.
"""

import pytest

pytest.importorskip("mujoco")

from liquid_controller.package_files import find_data_file  # noqa: E402
from liquid_controller.sim.evaluate import EvaluateJob, evaluate_episode  # noqa: E402

LAPS = 0.55
"""Kidney: 8.2 m to the right-hand bend, 10.7 m to the end of the left bend after it (of 20.9)."""


def test_shipped_policy_drives_past_the_held_out_bends_without_departure_or_violation():
    model = str(find_data_file("resource/default_policy.npz", key="model"))
    m = evaluate_episode(EvaluateJob(model, "kidney", seed=3, laps=LAPS, max_seconds=40.0))
    assert m.completed and m.laps >= LAPS, f"{m.laps:.2f} laps in {m.survival_s:.1f} s"
    assert m.departures == 0
    assert m.limit_violations == 0 and m.max_abs_effort <= m.effort_limit
    assert m.max_abs_lateral_m < 0.25  # the lane's half-width is 0.3 m
    assert m.fallbacks == 0
