"""RuntimePolicy against the torch LiquidPolicy: long rollouts, irregular dt, camera and heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liquid_controller.models.export import export_policy
from liquid_controller.models.policy import (
    LiquidPolicy,
    TorchPolicy,
    default_policy_config,
    default_policy_spec,
)
from liquid_controller.runtime import RuntimePolicy


def _observations(spec, steps: int, seed: int) -> list[tuple[dict, float]]:
    rng = np.random.default_rng(seed)
    frames = None
    if spec.image is not None:
        shape = (spec.image.height, spec.image.width, spec.image.channels)
        frames = rng.integers(0, 256, size=(4, *shape), dtype=np.uint8)
    out = []
    for i in range(steps):
        obs = {
            v.name: np.asarray(v.mean) + np.asarray(v.std) * rng.normal(size=v.size)
            for v in spec.vectors
        }
        if frames is not None:
            obs["image"] = frames[i % len(frames)]
        out.append((obs, float(rng.uniform(0.005, 0.2))))
    return out


@pytest.mark.parametrize(
    ("cell", "camera", "barrier", "steps"),
    [("cfc", True, 0, 150), ("ltc", True, 3, 100), ("cfc", False, 2, 300), ("ltc", False, 0, 300)],
)
def test_runtime_policy_matches_torch_policy(tmp_path, cell, camera, barrier, steps) -> None:
    torch.manual_seed(5)
    spec = default_policy_spec(camera=camera, barrier_params=barrier)
    model = LiquidPolicy(default_policy_config(cell=cell, seed=7), spec)
    export_policy(model, tmp_path / "policy.npz")
    runtime = RuntimePolicy.load(tmp_path / "policy.npz")
    reference = TorchPolicy(model)
    assert runtime.spec == spec
    assert runtime.neuron_types() == reference.neuron_types()
    for obs, dt_s in _observations(spec, steps, seed=3):
        want, got = reference.step(obs, dt_s), runtime.step(obs, dt_s)
        np.testing.assert_allclose(got.action, want.action, atol=1e-5, rtol=0)
        np.testing.assert_allclose(got.activity, want.activity, atol=1e-5, rtol=0)
        if barrier:
            np.testing.assert_allclose(got.barrier_params, want.barrier_params, atol=1e-5, rtol=0)
            assert np.all(got.barrier_params > 0)
        else:
            assert got.barrier_params is None
        assert got.action.dtype == np.float64 and got.action.shape == (spec.action.size,)


def test_reset_replays_the_same_rollout(tmp_path) -> None:
    torch.manual_seed(0)
    model = LiquidPolicy(default_policy_config(), default_policy_spec(camera=True))
    export_policy(model, tmp_path / "policy.npz")
    runtime = RuntimePolicy.load(tmp_path / "policy.npz")
    rollout = _observations(runtime.spec, 20, seed=1)
    first = [runtime.step(obs, dt).action for obs, dt in rollout]
    runtime.reset()
    second = [runtime.step(obs, dt).action for obs, dt in rollout]
    np.testing.assert_array_equal(np.array(first), np.array(second))
    # Results are fresh arrays, not views of internal buffers.
    assert not np.shares_memory(first[0], first[1])
