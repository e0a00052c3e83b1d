"""Small numpy building blocks shared by the runtime cores: activations and the LSTM memory.

Everything here works in place on preallocated buffers (``out=``), because at
batch 1 the cost of a step is the number of numpy calls, not the arithmetic.
Sigmoids are evaluated as ``0.5 + 0.5 * tanh(z / 2)`` with the ``1/2`` folded
into the weights at load time, which saves two calls per gate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError

__all__ = ["ACTIVATIONS", "Activation", "LSTMMemory", "MemoryMixin", "activation"]

Array = npt.NDArray[Any]

LECUN_INNER = 0.666
LECUN_OUTER = 1.7159

_erf = np.frompyfunc(math.erf, 1, 1)


class Activation:
    """An elementwise activation applied in place, with scales folded into adjacent layers.

    ``f(z) = outer * g(inner * z)``: the caller multiplies the producing layer's
    weights and bias by ``inner`` and the consuming layer's weights by ``outer``,
    so at run time only ``g`` is evaluated.
    """

    def __init__(self, name: str, inner: float, outer: float, apply: Callable[[Array], None]):
        self.name = name
        self.inner = inner
        self.outer = outer
        self.apply = apply


def _tanh(z: Array) -> None:
    np.tanh(z, out=z)


def _relu(z: Array) -> None:
    np.maximum(z, 0.0, out=z)


def _silu(z: Array) -> None:
    gate = np.tanh(0.5 * z)
    gate *= 0.5
    gate += 0.5
    z *= gate


def _gelu(z: Array) -> None:
    # torch.nn.GELU() default: exact erf form; numpy has no vector erf.
    erf = np.asarray(_erf(z * (1.0 / math.sqrt(2.0))), dtype=z.dtype)
    erf += 1.0
    erf *= 0.5
    z *= erf


ACTIVATIONS: dict[str, tuple[float, float, Callable[[Array], None]]] = {
    "lecun_tanh": (LECUN_INNER, LECUN_OUTER, _tanh),
    "tanh": (1.0, 1.0, _tanh),
    "relu": (1.0, 1.0, _relu),
    "silu": (1.0, 1.0, _silu),
    "gelu": (1.0, 1.0, _gelu),
}


def activation(name: str) -> Activation:
    """Return the activation called ``name`` (the names ncps's CfC accepts)."""
    if name not in ACTIVATIONS:
        raise CheckpointError(
            f"artifact config: activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    inner, outer, apply = ACTIVATIONS[name]
    return Activation(name, inner, outer, apply)


class LSTMMemory:
    """The ``mixed_memory`` LSTM cell of ncps, stepped in place.

    ncps computes ``z = input_map(x) + recurrent_map(h)``, splits ``z`` into
    ``(i, ig, fg, og)``, and returns ``h' = tanh(c') * sigmoid(og)`` with
    ``c' = c * sigmoid(fg + 1) + tanh(i) * sigmoid(ig)``. Here both maps are one
    matrix over the contiguous ``[x | h]`` buffer of the core.
    """

    def __init__(
        self,
        input_weight: Array,
        input_bias: Array,
        recurrent_weight: Array,
        dtype: npt.DTypeLike,
    ) -> None:
        units = recurrent_weight.shape[1]
        weight = np.concatenate([input_weight, recurrent_weight], axis=1)
        bias = input_bias.copy()
        bias[2 * units : 3 * units] += 1.0  # the forget-gate offset
        half = np.ones(4 * units)
        half[units:] = 0.5  # sigmoid gates via tanh(z / 2)
        self.weight = np.ascontiguousarray(weight * half[:, None], dtype=dtype)
        self.bias = np.ascontiguousarray(bias * half, dtype=dtype)
        self.units = units
        self.cell = np.zeros(units, dtype=dtype)
        self._z = np.zeros(4 * units, dtype=dtype)
        self._tmp = np.zeros(units, dtype=dtype)
        z = self._z
        self._i, self._gates = z[:units], z[units:]
        self._ig, self._fg, self._og = (
            z[units : 2 * units],
            z[2 * units : 3 * units],
            z[3 * units :],
        )

    def reset(self) -> None:
        """Zero the memory cell."""
        self.cell.fill(0.0)

    def step(self, xh: Array, h_out: Array) -> None:
        """Update the memory from ``xh = [x | h]`` and write the new ``h`` into ``h_out``."""
        z, gates, tmp, cell = self._z, self._gates, self._tmp, self.cell
        np.dot(self.weight, xh, out=z)
        z += self.bias
        np.tanh(z, out=z)
        gates *= 0.5
        gates += 0.5
        cell *= self._fg
        np.multiply(self._i, self._ig, out=tmp)
        cell += tmp
        np.tanh(cell, out=tmp)
        np.multiply(tmp, self._og, out=h_out)


class MemoryMixin:
    """The optional ``mixed_memory`` LSTM shared by the CfC and LTC runtimes."""

    _lstm: LSTMMemory | None

    @property
    def memory(self) -> Array | None:
        """The mixed-memory LSTM cell state, or ``None`` without mixed memory."""
        return None if self._lstm is None else self._lstm.cell

    def _reset_memory(self) -> None:
        if self._lstm is not None:
            self._lstm.reset()
