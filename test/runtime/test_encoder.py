"""Numpy Conv2d + ReLU stack against torch, over random layer shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.encoder import ConvLayerSpec, ConvStack

layer = st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(1, 3))  # out, kernel, stride

# The stress profile (HYPOTHESIS_PROFILE=stress) runs many more examples.
STRESS = settings().max_examples > 1000


@settings(max_examples=1000 if STRESS else 20)
@given(
    layers=st.lists(layer, min_size=1, max_size=3),
    height=st.integers(12, 24),
    width=st.integers(12, 30),
    channels=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_conv_stack_matches_torch(layers, height, width, channels, seed) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
    mean, std = rng.uniform(0.2, 0.6, channels), rng.uniform(0.1, 0.3, channels)
    specs, x = (
        [],
        (torch.from_numpy(image).double() / 255.0 - torch.tensor(mean)) / torch.tensor(std),
    )
    x = x.permute(2, 0, 1)[None]
    in_c = channels
    for out_c, kernel, stride in layers:
        if (x.shape[2] - kernel) // stride + 1 < 1 or (x.shape[3] - kernel) // stride + 1 < 1:
            break
        weight = rng.normal(size=(out_c, in_c, kernel, kernel)) * 0.3
        bias = rng.normal(size=out_c) * 0.1
        specs.append(ConvLayerSpec(weight, bias, stride))
        x = F.relu(F.conv2d(x, torch.from_numpy(weight), torch.from_numpy(bias), stride=stride))
        in_c = out_c
    stack = ConvStack(
        specs, (height, width, channels), 1.0 / (255.0 * std), -mean / std, dtype=np.float64
    )
    got = stack(image)
    want = x[0].permute(1, 2, 0).reshape(-1).numpy()  # HWC flatten
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=1e-9)
    # chw_columns turns a torch Linear over the CHW flatten into one over this HWC flatten.
    fc = rng.normal(size=(3, x.numel()))
    np.testing.assert_allclose(stack.chw_columns(fc) @ got, fc @ x.reshape(-1).numpy(), atol=1e-9)


def test_float32_stack_is_within_1e_5_of_float64() -> None:
    rng = np.random.default_rng(0)
    specs = [
        ConvLayerSpec(rng.normal(size=(8, 3, 5, 5)) * 0.2, rng.normal(size=8) * 0.1, 2),
        ConvLayerSpec(rng.normal(size=(8, 8, 3, 3)) * 0.2, rng.normal(size=8) * 0.1, 1),
    ]
    image = rng.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
    args = ((40, 60, 3), np.full(3, 1 / 255), np.zeros(3))
    single = ConvStack(specs, *args, dtype=np.float32)(image)
    double = ConvStack(specs, *args, dtype=np.float64)(image)
    np.testing.assert_allclose(single, double, atol=1e-5, rtol=1e-5)


def test_layers_that_do_not_fit_are_refused() -> None:
    spec = ConvLayerSpec(np.zeros((4, 3, 9, 9)), np.zeros(4), 1)
    with pytest.raises(CheckpointError, match="kernel 9x9, stride 1 does not fit its 8x8 input"):
        ConvStack([spec], (8, 8, 3), np.ones(3), np.zeros(3))
    wrong_channels = ConvLayerSpec(np.zeros((4, 2, 3, 3)), np.zeros(4), 1)
    with pytest.raises(CheckpointError, match="expects 2 input channels; its input has 3"):
        ConvStack([wrong_channels], (8, 8, 3), np.ones(3), np.zeros(3))
