"""ConvStack run block by block of output rows: same result as torch for any block size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError
from liquid_controller.runtime.encoder import ConvLayerSpec, ConvStack

# The stress profile (HYPOTHESIS_PROFILE=stress) runs many more examples.
STRESS = settings().max_examples > 1000


def _torch_stack(image: np.ndarray, specs: list[ConvLayerSpec]) -> np.ndarray:
    x = torch.from_numpy(image).double().permute(2, 0, 1)[None] / 255.0
    for spec in specs:
        weight, bias = torch.from_numpy(spec.weight), torch.from_numpy(spec.bias)
        x = F.relu(F.conv2d(x, weight, bias, stride=spec.stride))
    return x[0].permute(1, 2, 0).reshape(-1).numpy()  # HWC flatten


@settings(max_examples=500 if STRESS else 15)
@given(
    # 1 byte: one output row per block; 10**6: one block per layer; between: ragged last blocks.
    block_bytes=st.one_of(st.just(1), st.integers(2, 20_000), st.just(10**6)),
    height=st.integers(9, 30),
    width=st.integers(9, 30),
    seed=st.integers(0, 2**16),
)
def test_blocked_stack_matches_torch(block_bytes, height, width, seed) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    specs = [
        ConvLayerSpec(rng.normal(size=(6, 3, 5, 5)) * 0.3, rng.normal(size=6) * 0.1, 2),
        ConvLayerSpec(rng.normal(size=(5, 6, 3, 3)) * 0.3, rng.normal(size=5) * 0.1, 1),
    ]
    stack = ConvStack(
        specs, (height, width, 3), np.full(3, 1 / 255), np.zeros(3), np.float64, block_bytes
    )
    want = _torch_stack(image, specs)
    np.testing.assert_allclose(stack(image), want, atol=1e-9, rtol=1e-9)
    # Buffers are reused: a second, different image gives its own exact result.
    other = rng.integers(0, 256, size=image.shape, dtype=np.uint8)
    np.testing.assert_allclose(stack(other), _torch_stack(other, specs), atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("block_bytes", [0, -5, 2.5, True, "512"])
def test_bad_block_size_is_refused(block_bytes) -> None:
    spec = ConvLayerSpec(np.zeros((2, 3, 3, 3)), np.zeros(2), 1)
    with pytest.raises(ConfigError, match="block_bytes"):
        ConvStack([spec], (8, 8, 3), np.ones(3), np.zeros(3), block_bytes=block_bytes)


@settings(max_examples=500 if STRESS else 15)
@given(
    strides=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    height=st.integers(23, 40),
    width=st.integers(23, 40),
    seed=st.integers(0, 2**16),
)
def test_rows_no_later_layer_reads_are_skipped_without_changing_the_result(
    strides, height, width, seed
) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    specs = [
        ConvLayerSpec(rng.normal(size=(4, 3, 5, 5)) * 0.3, rng.normal(size=4) * 0.1, 2),
        ConvLayerSpec(rng.normal(size=(5, 4, 3, 3)) * 0.3, rng.normal(size=5) * 0.1, strides[0]),
        ConvLayerSpec(rng.normal(size=(3, 5, 3, 3)) * 0.3, rng.normal(size=3) * 0.1, strides[1]),
    ]
    stack = ConvStack(specs, (height, width, 3), np.full(3, 1 / 255), np.zeros(3), np.float64)
    np.testing.assert_allclose(stack(image), _torch_stack(image, specs), atol=1e-9, rtol=1e-9)


def test_the_default_encoder_skips_the_rows_its_next_layer_never_reads() -> None:
    # The NCP driving-model stack on 66x200: 5x5/2, 5x5/2, 3x3/2, 3x3/1, 3x3/1.
    shapes = [(24, 3, 5, 2), (36, 24, 5, 2), (48, 36, 3, 2), (64, 48, 3, 1), (64, 64, 3, 1)]
    specs = [ConvLayerSpec(np.zeros((o, i, k, k)), np.zeros(o), s) for o, i, k, s in shapes]
    stack = ConvStack(specs, (66, 200, 3), np.ones(3), np.zeros(3))
    assert stack.computed_rows == ((31, 29), (14, 13), (6, 6), (4, 4), (2, 2))
