"""Numpy Conv2d + ReLU stack for the camera encoder, fast at batch 1.

Each convolution is a GEMM over an im2col matrix, in height-width-channel
(HWC) layout end to end, so images arrive in their natural ``(height, width,
3)`` order and a layer's GEMM output is directly the next layer's input:

- the im2col matrix is filled by one ``np.copyto`` from a strided view of the
  previous output; the views are built once at load time, because the buffers
  never move. ReLU runs in place on each (contiguous) GEMM output: applying it
  during the strided copy instead is four times slower;
- the uint8 image is first cast into a contiguous float buffer (one cheap
  pass), because a casting copy through the strided window view is slow;
- the bias rides in the GEMM: the im2col matrix has a trailing column of ones
  and the weight matrix a trailing row holding the bias;
- torch weights ``(out, in, kh, kw)`` become ``(kh * kw * in + 1, out)`` matrices
  matching the im2col column order;
- a per-channel affine input normalisation ``x * scale + offset`` (here
  ``(x / 255 - mean) / std``) is folded into the first layer's weights and bias
  (exact, as the convolutions have no padding);
- :meth:`ConvStack.chw_columns` reorders a following ``Linear``'s weight
  columns from torch's ``(C, H, W)`` flatten order to this HWC order.

float32 is the default: the GEMMs dominate and run twice as fast as float64,
and the result stays within 1e-5 of torch's float32 forward.

Each layer runs its copy + GEMM + ReLU per block of output rows whose im2col
block is at most ``block_bytes`` (:data:`BLOCK_BYTES`, 512 KiB), one matrix
reused by all blocks: a block is still in cache when its GEMM reads it, where
the whole matrices (0.9 MB and 1.6 MB for the first two layers of the default
66x200 encoder) are not. Measured single thread (OpenBLAS, shared 2-core Xeon,
interleaved medians): the default encoder's stack 619-629 us -> 599-601 us,
the whole policy step 700-706 us -> 662-669 us. Per layer (copy, GEMM): 67+100,
41+236, 5+33, 3+34, 2+24 us; the GEMMs run at 110-140 GFLOP/s against a
183 GFLOP/s single-core peak, so the rest is arithmetic, not overhead.

Output rows that no later window reads are not computed: the default encoder's first
layer computes 29 of its 31 rows and the second 13 of 14 (its stride-2 3x3 successor
reads rows 0-12). Measured: stack 699 -> 679 us (interleaved medians, same session).

Tried and not adopted (measured slower; numbers in the same conditions):

- Winograd F(2x2, 3x3) on the 5x5 stride-2 layer via space-to-depth (a
  stride-2 5x5 conv is a stride-1 3x3 conv over the 4 input phases): its
  batched GEMM takes 114 us instead of 236, but the input/output transforms
  are ~16 elementwise passes over a 1 MB tile buffer and the whole layer took
  320-360 us against 275-283 us; on the 3-channel first layer 430 vs 170 us;
- the transposed GEMM ``W.T @ cols.T`` (channel-major output): faster GEMMs on
  the first two layers (79 vs 99 us, 197 vs 221 us) but the next layer's
  im2col from a channel-major map costs 115 instead of 41 us, and transposing
  back during the ReLU costs 17 us more than the in-place ReLU: stack 710 vs
  676 us;
- padding K or the im2col row stride to a multiple of 16: no change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from liquid_controller.errors import CheckpointError, ConfigError

__all__ = ["BLOCK_BYTES", "ConvLayerSpec", "ConvStack"]

Array = npt.NDArray[Any]

BLOCK_BYTES = 512 * 1024
"""Default largest im2col block (bytes); a block holds at least one output row."""


@dataclass(frozen=True)
class ConvLayerSpec:
    """One unpadded ``Conv2d``: torch weight ``(out, in, k, k)``, bias ``(out,)``, stride."""

    weight: Array
    bias: Array
    stride: int


class _Conv:
    """Buffers and folded weights of one layer; ``source`` is its input buffer (HWC)."""

    def __init__(
        self, spec: ConvLayerSpec, source: Array, dtype: npt.DTypeLike, block_bytes: int
    ) -> None:
        out_c, in_c, kh, kw = spec.weight.shape
        height, width, channels = source.shape
        if in_c != channels:
            raise CheckpointError(
                f"conv layer expects {in_c} input channels; its input has {channels}"
            )
        s = spec.stride
        out_h, out_w = (height - kh) // s + 1, (width - kw) // s + 1
        if out_h < 1 or out_w < 1:
            raise CheckpointError(
                f"conv layer with kernel {kh}x{kw}, stride {s} does not fit its "
                f"{height}x{width} input"
            )
        st_h, st_w, st_c = source.strides
        self._windows = as_strided(
            source,
            shape=(out_h, out_w, kh, kw, channels),
            strides=(s * st_h, s * st_w, st_h, st_w, st_c),
            writeable=False,
        )
        self.kernel, self.stride = kh, s
        self._taps = kh * kw * channels
        self._dtype = dtype
        self._block_bytes = block_bytes
        weight = spec.weight.transpose(2, 3, 1, 0).reshape(self._taps, out_c)
        self.weight = np.ascontiguousarray(np.vstack([weight, spec.bias[None, :]]), dtype=dtype)
        self.output = np.zeros((out_h, out_w, out_c), dtype=dtype)
        self.blocks: list[tuple[Array, Array, Array, Array]] = []
        self.plan(out_h)

    def plan(self, rows: int) -> None:
        """Compute only the first ``rows`` output rows (the rest stay zero, never read).

        Per block of output rows: (im2col view, its windows, im2col matrix, output rows).
        """
        self.rows_planned = rows
        out_h, out_w, out_c = self.output.shape
        kh, kw, channels = self._windows.shape[2:]
        taps = self._taps
        itemsize = np.dtype(self._dtype).itemsize
        fit = max(1, self._block_bytes // (out_w * (taps + 1) * itemsize))
        block_h = -(-rows // -(-rows // fit))  # balanced blocks of at most `fit` rows
        columns = np.ones((block_h * out_w, taps + 1), dtype=self._dtype)
        output_rows = self.output.reshape(out_h * out_w, out_c)
        self.blocks = []
        for top in range(0, rows, block_h):
            bottom = min(top + block_h, rows)
            block = columns[: (bottom - top) * out_w]
            self.blocks.append(
                (
                    block[:, :taps].reshape(bottom - top, out_w, kh, kw, channels),
                    self._windows[top:bottom],
                    block,
                    output_rows[top * out_w : bottom * out_w],
                )
            )


class ConvStack:
    """A stack of unpadded ``Conv2d`` + ReLU layers evaluated with im2col GEMMs.

    Args:
        layers: the convolutions in order (torch weights, float64 or float32).
        input_shape: ``(height, width, channels)`` of the image.
        input_scale: per-channel multiplier applied to the raw image first.
        input_offset: per-channel offset added after the scale.
        dtype: compute dtype.
        block_bytes: largest im2col block; each layer runs block by block of
            output rows (at least one row per block).

    Raises:
        CheckpointError: the layers do not chain or do not fit the image.
        ConfigError: ``block_bytes`` is not a positive integer.
    """

    def __init__(
        self,
        layers: Sequence[ConvLayerSpec],
        input_shape: tuple[int, int, int],
        input_scale: npt.ArrayLike,
        input_offset: npt.ArrayLike,
        dtype: npt.DTypeLike = np.float32,
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        if isinstance(block_bytes, bool) or not isinstance(block_bytes, int) or block_bytes < 1:
            raise ConfigError("block_bytes", block_bytes, "a positive number of bytes")
        if not layers:
            raise CheckpointError("camera encoder has no convolution layers")
        self.image = np.zeros(input_shape, dtype=dtype)
        scale = np.asarray(input_scale, dtype=np.float64)
        offset = np.asarray(input_offset, dtype=np.float64)
        first = layers[0]
        if first.weight.ndim != 4 or first.weight.shape[1] != input_shape[2]:
            raise CheckpointError(
                f"conv layer expects {first.weight.shape[1]} input channels; "
                f"its input has {input_shape[2]}"
            )
        if scale.shape != (input_shape[2],) or offset.shape != (input_shape[2],):
            raise CheckpointError(
                f"image normalisation has {scale.shape}/{offset.shape} values; "
                f"expected one per channel ({input_shape[2]})"
            )
        # conv(x * a + b) = conv_{W a}(x) + sum(W b): exact without padding.
        folded = ConvLayerSpec(
            first.weight * scale[None, :, None, None],
            first.bias + np.einsum("oikl,i->o", first.weight, offset),
            first.stride,
        )
        self._convs: list[_Conv] = []
        source = self.image
        for spec in [folded, *layers[1:]]:
            conv = _Conv(spec, source, dtype, block_bytes)
            self._convs.append(conv)
            source = conv.output
        # A layer's last rows can lie beyond the next layer's last window (a stride-2 5x5
        # layer over 14 rows reads 13): those are never computed.
        for conv, following in zip(self._convs[-2::-1], self._convs[:0:-1], strict=True):
            last_read = (following.rows_planned - 1) * following.stride + following.kernel
            conv.plan(min(conv.output.shape[0], last_read))
        height, width, channels = source.shape
        self.output_shape = (int(height), int(width), int(channels))
        self._features: Array = source.reshape(-1)

    @property
    def computed_rows(self) -> tuple[tuple[int, int], ...]:
        """Per layer: (output rows, rows computed: those a later layer reads)."""
        return tuple((conv.output.shape[0], conv.rows_planned) for conv in self._convs)

    @property
    def feature_size(self) -> int:
        """Number of features after flattening."""
        return int(self._features.shape[0])

    def chw_columns(self, weight: Array) -> Array:
        """Reorder a torch ``Linear`` weight's columns from ``(C, H, W)`` to this stack's HWC."""
        h, w, c = self.output_shape
        rows = weight.shape[0]
        reordered: Array = weight.reshape(rows, c, h, w).transpose(0, 2, 3, 1)
        return reordered.reshape(rows, h * w * c)

    def __call__(self, image: npt.ArrayLike) -> Array:
        """Encode one ``(height, width, channels)`` uint8 image; return the HWC features.

        The returned array is an internal buffer, overwritten by the next call.
        """
        np.copyto(self.image, image, casting="safe")
        for conv in self._convs:
            for column_view, windows, columns, rows in conv.blocks:
                np.copyto(column_view, windows)
                np.matmul(columns, conv.weight, out=rows)
                np.maximum(rows, 0.0, out=rows)
        return self._features
