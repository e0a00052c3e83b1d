"""Runtime CfC/LTC cores against the torch models (ours and ncps 1.0.1) over long rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ncps import torch as ncps_torch
from ncps import wirings as ncps_wirings

from liquid_controller.models.export import export_core
from liquid_controller.models.sequence import LTC, CfC
from liquid_controller.models.wiring import AutoNCP
from liquid_controller.runtime.core import load_core

STEPS = 300


def _rollout_inputs(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Irregular time steps spanning two orders of magnitude.
    return rng.normal(size=(STEPS, size)), rng.uniform(0.01, 1.5, size=STEPS)


def _ours_rollout(model: torch.nn.Module, xs: np.ndarray, dts: np.ndarray) -> tuple:
    dtype = next(model.parameters()).dtype
    h = model.initial_state(1)
    ys, acts = [], []
    with torch.no_grad():
        for x, dt in zip(xs, dts, strict=True):
            y, h = model.step(
                torch.tensor(x[None], dtype=dtype), h, torch.tensor([dt], dtype=dtype)
            )
            ys.append(y[0].double().numpy())
            acts.append(model.activity(h)[0].double().numpy())
    return np.array(ys), np.array(acts)


def _runtime_rollout(path, xs: np.ndarray, dts: np.ndarray) -> tuple:
    core = load_core(path)
    ys, acts = [], []
    for x, dt in zip(xs, dts, strict=True):
        ys.append(core.step(x, float(dt)).copy())
        acts.append(core.activity)
    return np.array(ys), np.array(acts)


MODELS = {
    "wired-default": lambda: CfC(12, AutoNCP(19, 2, seed=3)),
    "wired-pure": lambda: CfC(12, AutoNCP(19, 2, seed=3), mode="pure"),
    "wired-no_gate": lambda: CfC(12, AutoNCP(19, 2, seed=3), mode="no_gate"),
    "wired-mixed-proj": lambda: CfC(12, AutoNCP(16, 3, seed=1), mixed_memory=True, proj_size=2),
    "dense-default": lambda: CfC(12, 16, backbone_layers=2, backbone_units=24),
    "dense-pure": lambda: CfC(12, 16, mode="pure", backbone_units=24),
    "dense-no_gate-silu": lambda: CfC(12, 16, mode="no_gate", activation="silu"),
    "dense-no-backbone-mixed": lambda: CfC(12, 8, backbone_layers=0, mixed_memory=True),
    "ltc-wired": lambda: LTC(12, AutoNCP(19, 2, seed=3)),
    "ltc-dense-mixed": lambda: LTC(12, 10, mixed_memory=True, ode_unfolds=3),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_runtime_matches_our_float32_model(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    export_core(model, tmp_path / "core.npz")
    xs, dts = _rollout_inputs(model.input_size)
    want_y, want_act = _ours_rollout(model, xs, dts)
    got_y, got_act = _runtime_rollout(tmp_path / "core.npz", xs, dts)
    np.testing.assert_allclose(got_y, want_y, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got_act, want_act, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["wired-default", "dense-pure", "ltc-wired"])
def test_runtime_matches_float64_model_to_rounding(name: str, tmp_path) -> None:
    """In float64 both compute the same maths, so they agree far below the 1e-5 goal."""
    torch.manual_seed(1)
    model = MODELS[name]().double().eval()
    export_core(model, tmp_path / "core.npz")
    xs, dts = _rollout_inputs(model.input_size, seed=1)
    want_y, _ = _ours_rollout(model, xs, dts)
    got_y, _ = _runtime_rollout(tmp_path / "core.npz", xs, dts)
    np.testing.assert_allclose(got_y, want_y, atol=1e-11, rtol=0)


NCPS_MODELS = {
    "ncps-cfc-wired": lambda: ncps_torch.CfC(10, ncps_wirings.AutoNCP(19, 2, seed=2)),
    "ncps-cfc-dense-mixed-proj": lambda: ncps_torch.CfC(
        10, 12, mixed_memory=True, proj_size=3, mode="no_gate", backbone_layers=2
    ),
    "ncps-ltc-wired": lambda: ncps_torch.LTC(10, ncps_wirings.AutoNCP(19, 2, seed=2)),
}


@pytest.mark.parametrize("name", sorted(NCPS_MODELS))
def test_runtime_matches_ncps_modules(name: str, tmp_path) -> None:
    """A trained ncps module exports straight to the runtime (batch 1, where ncps is correct)."""
    torch.manual_seed(2)
    model = NCPS_MODELS[name]().eval()
    export_core(model, tmp_path / "core.npz")
    xs, dts = _rollout_inputs(10, seed=2)
    h = torch.zeros(1, model.state_size)
    hx = (h, h.clone()) if model.use_mixed else h
    want = []
    with torch.no_grad():
        for x, dt in zip(xs, dts, strict=True):
            y, hx = model(
                torch.tensor(x[None, None], dtype=torch.float32),
                hx,
                timespans=torch.tensor([[dt]], dtype=torch.float32),
            )
            want.append(y.reshape(-1).double().numpy())
    got, _ = _runtime_rollout(tmp_path / "core.npz", xs, dts)
    np.testing.assert_allclose(got, np.array(want), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["wired-default", "dense-pure", "ltc-wired", "ltc-dense-mixed"])
def test_float32_runtime_stays_within_1e_5_of_float64(name: str, tmp_path) -> None:
    torch.manual_seed(3)
    export_core(MODELS[name]().eval(), tmp_path / "core.npz")
    single = load_core(tmp_path / "core.npz", dtype=np.float32)
    double = load_core(tmp_path / "core.npz")
    xs, dts = _rollout_inputs(single.input_size, seed=3)
    for x, dt in zip(xs, dts, strict=True):
        got = single.step(x, float(dt))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, double.step(x, float(dt)), atol=1e-5, rtol=0)
    np.testing.assert_allclose(single.state, double.state, atol=1e-5, rtol=0)
