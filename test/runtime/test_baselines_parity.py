"""The LSTM and feed-forward baselines: torch policy vs numpy runtime, checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liquid_controller.errors import CheckpointError, ConfigError
from liquid_controller.models.checkpoint import load_checkpoint, save_checkpoint
from liquid_controller.models.export import export_checkpoint, export_policy, verify_export
from liquid_controller.models.policy import (
    LiquidPolicy,
    TorchPolicy,
    default_policy_config,
    default_policy_spec,
)
from liquid_controller.runtime import RuntimePolicy, load_artifact, save_artifact


def _rollout(spec, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs = {
            v.name: np.asarray(v.mean) + 2 * np.asarray(v.std) * rng.normal(size=v.size)
            for v in spec.vectors
        }
        if spec.image is not None:
            shape = (spec.image.height, spec.image.width, spec.image.channels)
            obs["image"] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        yield obs, float(rng.uniform(0.005, 0.2))


@pytest.mark.parametrize(
    ("cell", "camera", "barrier"),
    [("lstm", True, 2), ("lstm", False, 0), ("feedforward", True, 0), ("feedforward", False, 3)],
)
def test_baseline_runtime_matches_torch_over_a_rollout(tmp_path, cell, camera, barrier) -> None:
    torch.manual_seed(3)
    spec = default_policy_spec(camera=camera, barrier_params=barrier)
    model = LiquidPolicy(default_policy_config(cell=cell), spec)
    export_policy(model, tmp_path / "policy.npz")
    runtime, reference = RuntimePolicy.load(tmp_path / "policy.npz"), TorchPolicy(model)
    assert runtime.neuron_types() == reference.neuron_types() == ["unit"] * 19
    for obs, dt_s in _rollout(spec, 15 if camera else 200, seed=4):
        want, got = reference.step(obs, dt_s), runtime.step(obs, dt_s)
        np.testing.assert_allclose(got.action, want.action, atol=1e-5, rtol=0)
        np.testing.assert_allclose(got.activity, want.activity, atol=1e-5, rtol=0)
        if barrier:
            np.testing.assert_allclose(got.barrier_params, want.barrier_params, atol=1e-5, rtol=0)
    runtime.reset()
    reference.reset()
    obs, dt_s = next(_rollout(spec, 1, seed=9))
    np.testing.assert_allclose(
        runtime.step(obs, dt_s).action, reference.step(obs, dt_s).action, atol=1e-5, rtol=0
    )


def test_lstm_has_memory_and_feedforward_has_none() -> None:
    spec = default_policy_spec(camera=False)
    obs = {"imu": np.ones(6)}
    for cell, remembers in (("lstm", True), ("feedforward", False)):
        torch.manual_seed(0)
        policy = TorchPolicy(LiquidPolicy(default_policy_config(cell=cell), spec))
        first = policy.step(obs, 0.05).action
        second = policy.step(obs, 0.05).action
        assert (not np.allclose(first, second)) is remembers


def test_baseline_checkpoint_exports_through_the_cli_path(tmp_path) -> None:
    torch.manual_seed(1)
    model = LiquidPolicy(default_policy_config(cell="lstm"), default_policy_spec(camera=False))
    save_checkpoint(tmp_path / "m.ckpt", model)
    loaded = load_checkpoint(tmp_path / "m.ckpt")
    assert loaded.config["core"] == {"cell": "lstm", "units": 19}
    export_checkpoint(tmp_path / "m.ckpt", tmp_path / "m.npz")
    assert verify_export(tmp_path / "m.ckpt", tmp_path / "m.npz") <= 1e-5


@pytest.mark.parametrize(
    ("core", "match"),
    [
        ({"cell": "lstm"}, "missing key 'core.units'"),
        ({"cell": "lstm", "units": 0}, r"'core.units' is 0"),
        ({"cell": "lstm", "units": 5000}, r"'core.units' is 5000.*\[1, 1024\]"),
        ({"cell": "feedforward", "units": 19, "layers": 10_000}, r"'core.layers' is 10000"),
        ({"cell": "feedforward", "units": 19, "layers": "2"}, r"'core.layers' is '2'"),
        ({"cell": "feedforward", "units": 19, "layers": 3}, "missing array 'core.rnn_cell.4"),
        ({"cell": "lstm", "units": 18}, "array 'core.rnn_cell.weight_ih' has shape"),
        ({"cell": "gru", "units": 19}, "'core.type' is 'gru'"),
    ],
)
def test_hostile_baseline_artifacts_are_refused(tmp_path, core, match) -> None:
    model = LiquidPolicy(
        default_policy_config(cell="feedforward" if "layers" in core else "lstm"),
        default_policy_spec(camera=False),
    )
    export_policy(model, tmp_path / "good.npz")
    artifact = load_artifact(tmp_path / "good.npz")
    config = dict(artifact.config)
    policy = dict(config["policy"])
    base = dict(policy["core"])
    base.pop("units", None)
    base.pop("layers", None)
    base["type"] = core.pop("cell")
    policy["core"] = {**base, **core}
    config["policy"] = policy
    for key in ("format", "format_version", "kind"):
        config.pop(key)
    save_artifact(tmp_path / "bad.npz", kind="policy", config=config, arrays=artifact.arrays)
    with pytest.raises(CheckpointError, match=match):
        RuntimePolicy.load(tmp_path / "bad.npz")


def test_baseline_config_errors_name_the_key() -> None:
    spec = default_policy_spec(camera=False)
    with pytest.raises(ConfigError, match="'units'"):
        LiquidPolicy({"core": {"cell": "lstm", "units": 0}}, spec)
    with pytest.raises(ConfigError, match="'wiring'"):
        wiring = {"type": "AutoNCP", "args": {"units": 19, "output_size": 2}}
        LiquidPolicy({"core": {"cell": "lstm", "wiring": wiring}}, spec)
    with pytest.raises(ConfigError, match="'core.cell'"):
        default_policy_config(cell="gru")
