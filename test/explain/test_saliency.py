"""Saliency: zero for an ignored camera, occlusion from the artifact equals the torch model's,
VisualBackProp against a loop reference, gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from explain_fakes import random_episode, small_policy, torch
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.explain.model import ExplainedModel
from liquid_controller.explain.occlusion import (
    RuntimeFrame,
    occlusion_map,
    runtime_occlusion_maps,
    windows,
)
from liquid_controller.explain.run import ExplainOptions, explain
from liquid_controller.explain.saliency_torch import (
    gradient_saliency,
    torch_frames,
    visual_backprop,
)
from liquid_controller.models.export import export_policy
from liquid_controller.runtime.policy import RuntimePolicy


def runtime_of(policy, tmp_path) -> RuntimePolicy:
    export_policy(policy, tmp_path / "policy.npz")
    return RuntimePolicy.load(tmp_path / "policy.npz", encoder_dtype=np.float64)


def test_every_method_gives_zero_for_a_camera_the_network_ignores(tmp_path):
    policy = small_policy()
    first = policy.encoder.convs[0]
    with torch.no_grad():
        first.weight.zero_()
        first.bias.zero_()
    model = ExplainedModel(tmp_path, runtime_of(policy, tmp_path), policy, None)
    episode = random_episode(8)
    frames = (0, 3, 7)
    result = explain(model, [episode], options=ExplainOptions(frames=frames, summary_frames=4))
    assert set(result.saliency) == {"gradient", "visualbackprop", "occlusion"}
    for method, maps in result.saliency.items():
        assert maps, method
        for tick, saliency in maps.items():
            assert saliency.shape == episode.observations["image"].shape[1:3]
            assert np.all(saliency == 0.0), (method, tick)
        assert result.attention[method]["zero_frames"] == 4


def test_saliency_is_not_zero_for_a_camera_the_network_uses(tmp_path):
    policy = small_policy()
    model = ExplainedModel(tmp_path, runtime_of(policy, tmp_path), policy, None)
    result = explain(
        model, [random_episode(6)], options=ExplainOptions(frames=(2,), summary_frames=2)
    )
    for method, maps in result.saliency.items():
        assert maps[2].max() > 0.0, method


@pytest.mark.parametrize("cell", ["cfc", "ltc"])
def test_occlusion_from_the_artifact_matches_the_torch_model(tmp_path, cell):
    policy = small_policy(cell=cell, seed=4)
    runtime = runtime_of(policy, tmp_path)
    episode = random_episode(7, seed=3)
    ticks = (0, 4, 6)
    from_artifact = runtime_occlusion_maps(runtime, episode, ticks, patch=4, stride=2)
    frames = torch_frames(policy, episode, ticks)
    for tick in ticks:
        image = episode.observations["image"][tick]
        from_torch = occlusion_map(image, frames[tick], patch=4, stride=2)
        assert from_torch.max() > 0
        # maps are differences of actions ~0.1: compared to well below their ~1e-4 scale
        np.testing.assert_allclose(from_artifact[tick], from_torch, rtol=1e-6, atol=1e-10)


def test_runtime_frame_leaves_the_hidden_state_as_it_found_it(tmp_path):
    runtime = runtime_of(small_policy(), tmp_path)
    episode = random_episode(3)
    runtime.reset()
    runtime.step(episode.observation(0), 0.05)
    before = runtime.core.state.copy()
    frame = RuntimeFrame(runtime, episode.observation(1), 0.05)
    frame(episode.observations["image"][:3])
    np.testing.assert_array_equal(runtime.core.state, before)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 40), patch=st.integers(1, 12), data=st.data())
def test_windows_cover_every_pixel_and_end_at_the_edge(size, patch, data):
    stride = data.draw(st.integers(1, patch))
    starts = windows(size, patch, stride)
    covered = np.zeros(size, dtype=bool)
    for start in starts:
        covered[start : start + patch] = True
    assert covered.all()
    assert starts[-1] + min(patch, size) == size


def _upscale(mask, kernel, stride, size):
    """Loop reference of a deconvolution with all-ones weights (VisualBackProp's scaling)."""
    out = np.zeros(size)
    for i in range(mask.shape[0]):
        for j in range(mask.shape[1]):
            out[i * stride : i * stride + kernel, j * stride : j * stride + kernel] += mask[i, j]
    return out


def test_visual_backprop_matches_a_loop_reference():
    policy = small_policy(seed=5)
    image = random_episode(1, seed=5).observations["image"][0]
    encoder = policy.encoder
    x = torch.from_numpy(image.astype(np.float64))[None] / 255.0
    x = ((x - encoder.image_mean) / encoder.image_std).permute(0, 3, 1, 2)
    first = torch.relu(encoder.convs[0](x))
    second = torch.relu(encoder.convs[2](first))
    averaged = [m[0].mean(0).detach().numpy() for m in (first, second)]
    mask = _upscale(averaged[1], 3, 1, averaged[0].shape) * averaged[0]
    mask = _upscale(mask, 3, 2, image.shape[:2])
    expected = (mask - mask.min()) / (mask.max() - mask.min())
    np.testing.assert_allclose(visual_backprop(policy, image), expected, atol=1e-12)


def test_gradient_saliency_matches_finite_differences():
    policy = small_policy(seed=6)
    episode = random_episode(4, seed=6)
    frame = torch_frames(policy, episode, [3])[3]
    image = episode.observations["image"][3]
    saliency = gradient_saliency(frame, image)
    base = frame(image[None].astype(np.float64))[0]
    for y, x in ((0, 0), (5, 9), (11, 19)):
        slopes = []
        for channel in range(3):
            bumped = image.astype(np.float64)[None].copy()
            bumped[0, y, x, channel] += 1e-4
            slopes.append((frame(bumped)[0] - base) / 1e-4)
        expected = np.abs(np.array(slopes)).max(axis=0).sum()
        assert saliency[y, x] == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_rollout_reports_the_sensory_features_the_core_receives(tmp_path):
    from liquid_controller.explain.rollout import rollout

    policy = small_policy(seed=7)
    episode = random_episode(3, seed=7)
    run = rollout(runtime_of(policy, tmp_path), episode)
    with torch.no_grad():
        image = torch.from_numpy(episode.observations["image"])
        vector = torch.from_numpy(episode.observations["imu"])
        expected = policy.features(image, vector).numpy()
    assert run.sensory.shape == (3, policy.feature_size)
    # (the torch model keeps the spec's mean 9.81 as a float32 buffer: ~2e-7 apart)
    np.testing.assert_allclose(run.sensory, expected, rtol=1e-6, atol=1e-6)
