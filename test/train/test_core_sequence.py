"""The fused wired-CfC window against the step loop: values, gradients, resets, every core."""

from __future__ import annotations

import pytest
import torch

from liquid_controller.models.policy import LiquidPolicy, default_policy_config, default_policy_spec
from liquid_controller.models.sequence import CfC, rnn_from_config
from liquid_controller.models.wiring import AutoNCP
from liquid_controller.train.core_sequence import fused_wired_cfc, run_core


def _step_loop(core, x, h, dt, reset):
    keep = (~reset).to(x.dtype).unsqueeze(-1)
    outputs = []
    for t in range(x.shape[1]):
        y, h = core.step(x[:, t], h * keep[:, t], dt[:, t])
        outputs.append(y)
    return torch.stack(outputs, dim=1), h


def _inputs(batch, steps, features, dtype, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, steps, features, dtype=dtype, generator=generator)
    dt = 0.01 + 0.2 * torch.rand(batch, steps, dtype=dtype, generator=generator)
    reset = torch.zeros(batch, steps, dtype=torch.bool)
    reset[0, 0] = reset[1, 3] = reset[2, 4] = True
    return x, dt, reset


@pytest.mark.parametrize("mode", ["default", "no_gate"])
def test_fused_window_equals_the_step_loop_with_every_gradient(mode) -> None:
    """Values and the gradients of inputs, initial state and weights (float64, to rounding)."""
    torch.manual_seed(2)
    core = CfC(7, AutoNCP(12, 3, seed=4), mode=mode).double()
    assert fused_wired_cfc(core) is not None
    x, dt, reset = _inputs(4, 9, 7, torch.float64, seed=5)
    h0 = 0.3 * torch.randn(4, core.state_size, dtype=torch.float64)
    x.requires_grad_()
    h0.requires_grad_()
    params = [x, h0] + [p for p in core.parameters() if p.requires_grad]
    results = []
    for run in (_step_loop, run_core):
        y, h = run(core, x, h0, dt, reset)
        loss = y.sin().sum() + (h**2).sum()
        results.append((y, h, torch.autograd.grad(loss, params)))
    (y_a, h_a, g_a), (y_b, h_b, g_b) = results
    torch.testing.assert_close(y_b, y_a, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_b, h_a, rtol=0, atol=1e-12)
    for a, b in zip(g_a, g_b, strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-11)


@pytest.mark.parametrize("cell", ["cfc", "ltc", "lstm", "feedforward"])
def test_every_policy_core_runs_a_window_as_its_step_loop(cell) -> None:
    torch.manual_seed(3)
    spec = default_policy_spec(camera=False)
    policy = LiquidPolicy(default_policy_config(cell=cell), spec)
    core = policy.core
    x, dt, reset = _inputs(3, 8, core.input_size, torch.float32, seed=6)
    h0 = policy.initial_state(3)
    y_a, h_a = _step_loop(core, x, h0, dt, reset)
    y_b, h_b = run_core(core, x, h0, dt, reset)
    torch.testing.assert_close(y_b, y_a, rtol=0, atol=1e-5)
    torch.testing.assert_close(h_b, h_a, rtol=0, atol=1e-5)


def test_pure_mode_and_projection_take_the_step_loop() -> None:
    wiring = {"type": "AutoNCP", "args": {"units": 8, "output_size": 2, "seed": 1}}
    pure = rnn_from_config({"cell": "cfc", "input_size": 3, "wiring": wiring, "mode": "pure"})
    projected = rnn_from_config({"cell": "cfc", "input_size": 3, "wiring": wiring, "proj_size": 4})
    assert fused_wired_cfc(pure) is None and fused_wired_cfc(projected) is None
    x, dt, reset = _inputs(3, 5, 3, torch.float32)
    for core in (pure, projected):
        y_a, _ = _step_loop(core, x, core.initial_state(3), dt, reset)
        y_b, _ = run_core(core, x, core.initial_state(3), dt, reset)
        torch.testing.assert_close(y_b, y_a, rtol=0, atol=1e-6)
