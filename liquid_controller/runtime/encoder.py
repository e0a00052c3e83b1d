"""Numpy Conv2d + ReLU stack for the camera encoder, fast at batch 1.

Each convolution is one GEMM over an im2col matrix, in height-width-channel
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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from liquid_controller.errors import CheckpointError

__all__ = ["ConvLayerSpec", "ConvStack"]

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class ConvLayerSpec:
    """One unpadded ``Conv2d``: torch weight ``(out, in, k, k)``, bias ``(out,)``, stride."""

    weight: Array
    bias: Array
    stride: int


class _Conv:
    """Buffers and folded weights of one layer; ``source`` is its input buffer (HWC)."""

    def __init__(self, spec: ConvLayerSpec, source: Array, dtype: npt.DTypeLike) -> None:
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
        self.windows = as_strided(
            source,
            shape=(out_h, out_w, kh, kw, channels),
            strides=(s * st_h, s * st_w, st_h, st_w, st_c),
            writeable=False,
        )
        taps = kh * kw * channels
        self.columns = np.ones((out_h * out_w, taps + 1), dtype=dtype)
        self.column_view = self.columns[:, :taps].reshape(out_h, out_w, kh, kw, channels)
        weight = spec.weight.transpose(2, 3, 1, 0).reshape(taps, out_c)
        self.weight = np.ascontiguousarray(np.vstack([weight, spec.bias[None, :]]), dtype=dtype)
        self.output = np.zeros((out_h, out_w, out_c), dtype=dtype)
        self.output_rows = self.output.reshape(out_h * out_w, out_c)


class ConvStack:
    """A stack of unpadded ``Conv2d`` + ReLU layers evaluated with im2col GEMMs.

    Args:
        layers: the convolutions in order (torch weights, float64 or float32).
        input_shape: ``(height, width, channels)`` of the image.
        input_scale: per-channel multiplier applied to the raw image first.
        input_offset: per-channel offset added after the scale.
        dtype: compute dtype.

    Raises:
        CheckpointError: the layers do not chain or do not fit the image.
    """

    def __init__(
        self,
        layers: Sequence[ConvLayerSpec],
        input_shape: tuple[int, int, int],
        input_scale: npt.ArrayLike,
        input_offset: npt.ArrayLike,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
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
            conv = _Conv(spec, source, dtype)
            self._convs.append(conv)
            source = conv.output
        height, width, channels = source.shape
        self.output_shape = (int(height), int(width), int(channels))
        self._features: Array = source.reshape(-1)

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
            np.copyto(conv.column_view, conv.windows)
            rows = conv.output_rows
            np.matmul(conv.columns, conv.weight, out=rows)
            np.maximum(rows, 0.0, out=rows)
        return self._features
