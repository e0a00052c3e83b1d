"""RuntimePolicy input validation: bad observations and dt fail clearly, state untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.errors import CheckpointError, ObservationError
from liquid_controller.models.export import export_policy
from liquid_controller.models.policy import LiquidPolicy, default_policy_config, default_policy_spec
from liquid_controller.runtime import RuntimePolicy, load_artifact, save_artifact
from liquid_controller.runtime.spec import PolicySpec

# The stress profile (HYPOTHESIS_PROFILE=stress) runs many more examples.
STRESS = settings().max_examples > 1000


@pytest.fixture(scope="module")
def artifact_path(tmp_path_factory):
    torch.manual_seed(0)
    model = LiquidPolicy(
        default_policy_config(), default_policy_spec(camera=True, barrier_params=2)
    )
    path = tmp_path_factory.mktemp("policy") / "policy.npz"
    export_policy(model, path)
    return path


def _obs(policy: RuntimePolicy) -> dict:
    image = policy.spec.image
    return {
        "image": np.zeros((image.height, image.width, image.channels), dtype=np.uint8),
        "imu": np.array([0.0, 0.0, 9.81, 0.0, 0.0, 0.0]),
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"imu": None}, "imu", "missing"),
        ({"imu": np.zeros(5)}, "imu", r"shape \(5,\); expected \(6,\)"),
        ({"imu": np.array([0, 0, np.nan, 0, 0, 0])}, "imu", "non-finite"),
        ({"image": None}, "image", "missing"),
        ({"image": np.zeros((66, 199, 3), np.uint8)}, "image", "shape"),
        ({"image": np.zeros((66, 200, 3), np.float32)}, "image", "dtype float32; expected uint8"),
    ],
)
def test_bad_observation_is_named_and_state_kept(artifact_path, change, field, message) -> None:
    policy = RuntimePolicy.load(artifact_path)
    policy.step(_obs(policy), 0.05)
    before = policy.core.state.copy()
    obs = _obs(policy)
    for key, value in change.items():
        if value is None:
            del obs[key]
        else:
            obs[key] = value
    with pytest.raises(ObservationError, match=message) as info:
        policy.step(obs, 0.05)
    assert info.value.field == field
    np.testing.assert_array_equal(policy.core.state, before)


@pytest.mark.parametrize("dt_s", [0.0, -0.01, float("nan"), float("inf"), True, "0.1"])
def test_bad_dt_is_refused(artifact_path, dt_s) -> None:
    policy = RuntimePolicy.load(artifact_path)
    with pytest.raises(ObservationError, match="dt_s"):
        policy.step(_obs(policy), dt_s)


@settings(max_examples=500 if STRESS else 15)
@given(
    imu=st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=6),
    dt_s=st.floats(1e-4, 10.0),
    pixel=st.integers(0, 255),
)
def test_outputs_are_finite_for_any_finite_input(artifact_path, imu, dt_s, pixel) -> None:
    policy = RuntimePolicy.load(artifact_path)
    obs = _obs(policy)
    obs["imu"] = np.array(imu)
    obs["image"][:] = pixel
    for _ in range(3):
        step = policy.step(obs, dt_s)
        assert np.all(np.isfinite(step.action))
        assert np.all(np.isfinite(step.activity))
        assert np.all(step.barrier_params > 0)


def test_missing_head_array_is_named(artifact_path, tmp_path) -> None:
    artifact = load_artifact(artifact_path)
    arrays = {k: v for k, v in artifact.arrays.items() if k != "action_head.weight"}
    config = {k: v for k, v in artifact.config.items() if k not in ("format", "format_version")}
    kind = config.pop("kind")
    save_artifact(tmp_path / "bad.npz", kind=kind, config=config, arrays=arrays)
    with pytest.raises(CheckpointError, match="missing array 'action_head.weight'"):
        RuntimePolicy.load(tmp_path / "bad.npz")


def test_core_input_size_must_match_features(artifact_path, tmp_path) -> None:
    artifact = load_artifact(artifact_path)
    config = {k: v for k, v in artifact.config.items() if k not in ("format", "format_version")}
    kind = config.pop("kind")
    config["spec"]["vectors"][0]["fields"].append("extra")
    for key in ("units", "mean", "std"):
        config["spec"]["vectors"][0][key].append(1.0 if key == "std" else 0.0)
    save_artifact(tmp_path / "bad.npz", kind=kind, config=config, arrays=artifact.arrays)
    with pytest.raises(CheckpointError, match="'policy.core.input_size' is 38; expected 39"):
        RuntimePolicy.load(tmp_path / "bad.npz")


def test_core_artifact_is_not_a_policy(tmp_path) -> None:
    save_artifact(tmp_path / "core.npz", kind="core", config={}, arrays={})
    with pytest.raises(CheckpointError, match="kind is 'core'; expected 'policy'"):
        RuntimePolicy.load(tmp_path / "core.npz")


def test_the_image_crop_round_trips_and_is_validated():
    spec = default_policy_spec(camera=True).to_dict()
    spec["image"]["crop"] = [120, 0, 4, 4]
    assert PolicySpec.from_dict(spec).image.crop == (120, 0, 4, 4)
    assert PolicySpec.from_dict(spec).to_dict()["image"]["crop"] == [120, 0, 4, 4]
    for bad, named in (([1, 2, 3], "image.crop"), ([0, -1, 0, 0], "image.crop.bottom"),
                       ([0, 0, 1.5, 0], "image.crop")):  # fmt: skip
        spec["image"]["crop"] = bad
        with pytest.raises(CheckpointError, match=named.replace(".", r"\.")):
            PolicySpec.from_dict(spec)
