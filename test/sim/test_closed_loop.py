from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError
from liquid_controller.sim.closed_loop import DropoutWindow, run_closed_loop

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "resource" / "default_policy.npz"
SAFETY = ROOT / "config" / "safety.yaml"


def test_default_run_stays_within_limits_and_falls_back_on_dropout():
    report = run_closed_loop(
        MODEL,
        SAFETY,
        seconds=3.0,
        rate_hz=50.0,
        dropout=DropoutWindow(1.0, 0.5),
        input_timeout_s=0.25,
    )
    assert report.ticks == 150
    assert report.commands_finite and report.commands_within_limits
    # Stale after the timeout, on the first tick past it (one period at most later).
    assert 0.25 - 0.02 <= report.first_fallback_after_dropout_s <= 0.25 + 0.02
    assert report.resumed_after_dropout_s is not None and report.resumed_after_dropout_s <= 0.02
    # The wheel-speed barrier of config/safety.yaml holds 15 rad/s (soft: within a small slack).
    assert report.max_abs_wheel_speed_rad_s <= 15.0 + 0.05


def test_no_dropout_means_no_fallback_after_start():
    report = run_closed_loop(MODEL, SAFETY, seconds=1.0, dropout=None)
    assert report.first_fallback_after_dropout_s is None
    assert report.fallback_ticks <= 1  # at most the very first tick, before any input arrived


@settings(max_examples=5)
@given(
    seed=st.integers(0, 2**16),
    rate_hz=st.sampled_from([20.0, 50.0, 100.0]),
    start=st.floats(0.0, 1.0),
    duration=st.floats(0.0, 0.6),
)
def test_every_command_is_within_limits(seed, rate_hz, start, duration):
    report = run_closed_loop(
        MODEL,
        SAFETY,
        seconds=1.5,
        rate_hz=rate_hz,
        seed=seed,
        dropout=DropoutWindow(start, duration),
    )
    assert report.commands_finite and report.commands_within_limits
    assert np.isfinite(report.max_abs_command)


@pytest.mark.parametrize(
    ("key", "kwargs"), [("rate_hz", {"rate_hz": 0.0}), ("seconds", {"seconds": -1.0})]
)
def test_bad_settings_name_the_key(key, kwargs):
    with pytest.raises(ConfigError, match=key):
        run_closed_loop(MODEL, SAFETY, **kwargs)


def test_policy_without_camera_is_rejected_with_the_reason(tmp_path):
    from liquid_controller.cli import main

    ckpt = tmp_path / "nocam.safetensors"
    assert main(["init-policy", "--out", str(ckpt), "--no-camera"]) == 0
    with pytest.raises(ConfigError, match="a camera policy"):
        run_closed_loop(ckpt, SAFETY, seconds=0.1)
