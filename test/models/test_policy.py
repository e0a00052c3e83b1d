from __future__ import annotations

import copy
import os
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError, ObservationError
from liquid_controller.models.policy import (
    LiquidPolicy,
    TorchPolicy,
    default_policy_config,
    default_policy_spec,
)
from liquid_controller.runtime.spec import MIN_BARRIER_GAIN, ImageInput, Policy, PolicySpec

# Few examples every day; 50x under HYPOTHESIS_PROFILE=stress (see test/conftest.py).
SCALE = 50 if os.environ.get("HYPOTHESIS_PROFILE") == "stress" else 1

SMALL_IMAGE = {"height": 20, "width": 24, "channels": 3}


def small_spec(camera: bool = True, barrier_params: int = 0) -> PolicySpec:
    data = default_policy_spec(camera=camera, barrier_params=barrier_params).to_dict()
    if camera:
        data["image"] = SMALL_IMAGE
    return PolicySpec.from_dict(data)


def small_config(cell: str = "cfc") -> dict:
    config = default_policy_config(cell=cell, seed=3)
    config["image_encoder"]["conv_layers"] = [[4, 5, 2], [6, 3, 2]]
    config["image_encoder"]["features"] = 8
    return config


def make_policy(cell="cfc", camera=True, barrier_params=0, seed=0) -> LiquidPolicy:
    torch.manual_seed(seed)
    return LiquidPolicy(small_config(cell), small_spec(camera, barrier_params))


def random_obs(rng: np.random.Generator, spec: PolicySpec) -> dict:
    obs = {"imu": rng.normal(size=6) + np.array([0, 0, 9.81, 0, 0, 0])}
    if spec.image is not None:
        shape = (spec.image.height, spec.image.width, 3)
        obs["image"] = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return obs


def test_default_policy_is_the_example_robot():
    spec = default_policy_spec()
    torch.manual_seed(0)
    model = LiquidPolicy(default_policy_config(), spec)
    assert spec.action.names == ("left_wheel", "right_wheel")
    assert spec.action.units == ("N*m", "N*m")
    assert spec.image == ImageInput(66, 200, 3)
    assert [v.name for v in spec.vectors] == ["imu"] and spec.vectors[0].size == 6
    assert len(model.encoder.convs) == 10  # 5 conv layers, each followed by ReLU
    assert model.encoder.fc.in_features == 64 * 2 * 19
    assert model.feature_size == 32 + 6
    assert model.core.units == 19 and model.core.output_size == 2
    assert model.neuron_types().count("motor") == 2
    policy = TorchPolicy(model)
    out = policy.step(random_obs(np.random.default_rng(0), spec), 0.05)
    assert out.action.shape == (2,) and out.action.dtype == np.float64
    assert out.activity.shape == (19,) and out.barrier_params is None


def reference_step(model: LiquidPolicy, image, vector, h, dt):
    """The computation order written in policy.py's docstring, re-implemented by hand."""
    cfg = model.get_config()["image_encoder"]
    params = dict(model.named_parameters())
    x = image.double() / 255.0
    x = (x - torch.tensor(cfg["image_mean"], dtype=torch.float64)) / torch.tensor(
        cfg["image_std"], dtype=torch.float64
    )
    x = x.permute(0, 3, 1, 2)
    for i, (_, _, stride) in enumerate(cfg["conv_layers"]):
        weight = params[f"encoder.convs.{2 * i}.weight"].double()
        bias = params[f"encoder.convs.{2 * i}.bias"].double()
        x = torch.relu(F.conv2d(x, weight, bias, stride=stride))
    x = (
        torch.flatten(x, 1) @ params["encoder.fc.weight"].double().T
        + params["encoder.fc.bias"].double()
    )
    spec = model.spec
    mean = torch.tensor(spec.vectors[0].mean, dtype=torch.float64)
    std = torch.tensor(spec.vectors[0].std, dtype=torch.float64)
    features = torch.cat([x, (vector - mean) / std], dim=1)
    core = copy.deepcopy(model.core).double()
    out, h_next = core.step(features, h.double(), dt.double())
    action = out @ params["action_head.weight"].double().T + params["action_head.bias"].double()
    barrier = MIN_BARRIER_GAIN + F.softplus(
        out @ params["barrier_head.weight"].double().T + params["barrier_head.bias"].double()
    )
    return action, barrier, h_next


@pytest.mark.parametrize("cell", ["cfc", "ltc"])
def test_documented_computation_order(cell):
    model = make_policy(cell, barrier_params=3)
    rng = np.random.default_rng(1)
    image = torch.from_numpy(rng.integers(0, 256, size=(2, 20, 24, 3), dtype=np.uint8))
    vector = torch.from_numpy(rng.normal(size=(2, 6)))
    h = 0.1 * torch.randn(2, model.core.state_size)
    dt = torch.tensor([0.02, 0.5])
    with torch.no_grad():
        out = model(image, vector, h, dt)
        action, barrier, h_next = reference_step(model, image, vector, h, dt)
    torch.testing.assert_close(out.action.double(), action, rtol=0, atol=1e-5)
    torch.testing.assert_close(out.barrier.double(), barrier, rtol=0, atol=1e-5)
    torch.testing.assert_close(out.state.double(), h_next, rtol=0, atol=1e-5)
    assert (out.barrier > 0).all()


def test_parameter_names_are_documented():
    names = set(make_policy(barrier_params=2).state_dict())
    assert {"encoder.convs.0.weight", "encoder.convs.2.bias", "encoder.fc.weight"} <= names
    assert {"action_head.weight", "barrier_head.bias"} <= names
    assert any(n.startswith("core.rnn_cell.layers.2.") for n in names)
    assert not any("mean" in n or "std" in n for n in names)  # statistics live in config/spec


@settings(max_examples=10 * SCALE)
@given(
    seed=st.integers(0, 1000),
    dts=st.lists(st.floats(1e-3, 2.0), min_size=1, max_size=5),
    camera=st.booleans(),
)
def test_stateful_step_is_deterministic_finite_and_resets(seed, dts, camera):
    model = make_policy(camera=camera, barrier_params=1, seed=seed % 7)
    policy: Policy = TorchPolicy(model)
    rng = np.random.default_rng(seed)
    observations = [random_obs(rng, policy.spec) for _ in dts]
    first = [policy.step(obs, dt) for obs, dt in zip(observations, dts, strict=True)]
    policy.reset()
    again = [policy.step(obs, dt) for obs, dt in zip(observations, dts, strict=True)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.action, b.action)
        np.testing.assert_array_equal(a.activity, b.activity)
        assert np.all(np.isfinite(a.action)) and np.all(a.barrier_params > 0)
        assert a.action.dtype == np.float64 and a.barrier_params.dtype == np.float64


def test_read_only_message_buffers_are_accepted_without_warnings():
    policy = TorchPolicy(make_policy())
    obs = random_obs(np.random.default_rng(7), policy.spec)
    for value in obs.values():
        value.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isfinite(policy.step(obs, 0.1).action))


def test_state_carries_and_dt_matters():
    policy = TorchPolicy(make_policy())
    obs = random_obs(np.random.default_rng(2), policy.spec)
    a1 = policy.step(obs, 0.1).action
    a2 = policy.step(obs, 0.1).action
    assert not np.allclose(a1, a2)  # same input, different state
    policy.reset()
    np.testing.assert_array_equal(policy.step(obs, 0.1).action, a1)
    policy.reset()
    assert not np.allclose(policy.step(obs, 1.5).action, a1)


def test_batch_equals_single_samples():
    model = make_policy(barrier_params=2)
    rng = np.random.default_rng(3)
    image = torch.from_numpy(rng.integers(0, 256, size=(3, 20, 24, 3), dtype=np.uint8))
    vector = torch.from_numpy(rng.normal(size=(3, 6)))
    dt = torch.tensor([0.01, 0.3, 1.0])
    with torch.no_grad():
        batch = model(image, vector, model.initial_state(3), dt)
        for b in range(3):
            one = model(image[b : b + 1], vector[b : b + 1], model.initial_state(1), dt[b : b + 1])
            torch.testing.assert_close(one.action, batch.action[b : b + 1])
            torch.testing.assert_close(one.state, batch.state[b : b + 1])


def test_config_round_trip():
    model = make_policy("ltc")
    rebuilt = LiquidPolicy(model.get_config(), model.spec)
    assert rebuilt.get_config() == model.get_config()
    rebuilt.load_state_dict(model.state_dict())
    policy_a, policy_b = TorchPolicy(model), TorchPolicy(rebuilt)
    obs = random_obs(np.random.default_rng(4), model.spec)
    np.testing.assert_array_equal(policy_a.step(obs, 0.1).action, policy_b.step(obs, 0.1).action)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("imu"), "imu"),
        (lambda o: o.update(imu=np.array([0.0, 0, np.nan, 0, 0, 0])), "imu"),
        (lambda o: o.update(imu=np.zeros(5)), "imu"),
        (lambda o: o.update(image=np.zeros((20, 24, 3), dtype=np.float32)), "image"),
        (lambda o: o.update(image=np.zeros((24, 20, 3), dtype=np.uint8)), "image"),
    ],
)
def test_bad_observations_name_the_field(mutate, field):
    policy = TorchPolicy(make_policy())
    obs = random_obs(np.random.default_rng(5), policy.spec)
    mutate(obs)
    with pytest.raises(ObservationError, match=f"'{field}'"):
        policy.step(obs, 0.1)


@pytest.mark.parametrize("dt", [0.0, -0.1, float("nan"), float("inf"), "0.1"])
def test_bad_dt_is_rejected(dt):
    policy = TorchPolicy(make_policy(camera=False))
    with pytest.raises(ObservationError, match="dt_s"):
        policy.step(random_obs(np.random.default_rng(6), policy.spec), dt)


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c.pop("core"), "core"),
        (lambda c: c["image_encoder"].update(conv_layers=[[4, 30, 1]]), r"conv_layers\[0\]"),
        (lambda c: c["image_encoder"].update(conv_layers=[[4, 3]]), r"conv_layers\[0\]"),
        (lambda c: c["image_encoder"].update(image_mean=[0.5, 0.5]), "image_mean"),
        (lambda c: c["image_encoder"].update(image_std=[1.0, 0.0, 1.0]), "image_std"),
        (lambda c: c["image_encoder"].update(features=0), "features"),
        (lambda c: c["image_encoder"].update(colour=True), "image_encoder"),
        (lambda c: c["core"].update(input_size=4), "core.input_size"),
        (lambda c: c["core"].update(cell="gru"), "cell"),
        (lambda c: c["core"]["wiring"].update(type="Hex"), "wiring.type"),
    ],
)
def test_bad_config_names_the_key(mutate, key):
    config = small_config()
    mutate(config)
    with pytest.raises(ConfigError, match=key):
        LiquidPolicy(config, small_spec())
