"""Numpy steps of the baseline cores (LSTM, feed-forward), for like-for-like inference cost.

They compute what :mod:`liquid_controller.models.baselines` computes for batch 1
and share the interface of the CfC/LTC runtimes (``step``, ``reset``, ``state``,
``activity``, ``memory`` and the size attributes); ``dt_s`` is accepted and ignored.

Artifact arrays (prefix ``core.``):

- LSTM (config ``{"type": "lstm", "input_size", "units"}``):
  ``rnn_cell.weight_ih`` ``(4 units, input)``, ``rnn_cell.weight_hh`` ``(4 units, units)``,
  ``rnn_cell.bias_ih``, ``rnn_cell.bias_hh`` ``(4 units,)``; gates ``i, f, g, o``.
- Feed-forward (config ``{"type": "feedforward", "input_size", "units", "layers"}``):
  ``rnn_cell.<2i>.weight`` / ``.bias`` for hidden layer ``i``, each followed by ``tanh``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.runtime.artifact import Artifact
from liquid_controller.runtime.config import read_int
from liquid_controller.runtime.limits import MAX_CORE_UNITS, MAX_HIDDEN_LAYERS

__all__ = ["FeedForwardRuntime", "LSTMRuntime"]

Array = npt.NDArray[Any]


class LSTMRuntime:
    """An LSTM core stepped in place: one GEMV over ``[x | h]`` per step.

    Sigmoid gates are evaluated as ``0.5 + 0.5 tanh(z / 2)`` with the ``1/2``
    folded into their weights at load, so a step is one ``tanh`` over all gates.

    Raises:
        CheckpointError: a config key or array is missing or has the wrong shape.
    """

    def __init__(
        self,
        artifact: Artifact,
        config: Mapping[str, Any],
        prefix: str = "core.",
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        where = prefix.rstrip(".")
        n_in = self.input_size = read_int(config, "input_size", where, minimum=1)
        n = self.state_size = self.output_size = read_int(
            config, "units", where, minimum=1, maximum=MAX_CORE_UNITS
        )
        w_ih = artifact.array(f"{prefix}rnn_cell.weight_ih", (4 * n, n_in))
        w_hh = artifact.array(f"{prefix}rnn_cell.weight_hh", (4 * n, n))
        bias = artifact.array(f"{prefix}rnn_cell.bias_ih", (4 * n,))
        bias = bias + artifact.array(f"{prefix}rnn_cell.bias_hh", (4 * n,))
        scale = np.full(4 * n, 0.5)
        scale[2 * n : 3 * n] = 1.0  # g is a tanh gate; i, f, o are sigmoids
        self._weight = np.ascontiguousarray(np.hstack((w_ih, w_hh)) * scale[:, None], dtype=dtype)
        self._bias = np.ascontiguousarray(bias * scale, dtype=dtype)
        self._buffer = np.zeros(n_in + n, dtype=dtype)
        self._x: Array = self._buffer[:n_in]
        self._h: Array = self._buffer[n_in:]
        self._cell = np.zeros(n, dtype=dtype)
        self._z = np.zeros(4 * n, dtype=dtype)
        self._tmp = np.zeros(n, dtype=dtype)
        z = self._z
        self._i, self._f, self._g, self._o = z[:n], z[n : 2 * n], z[2 * n : 3 * n], z[3 * n :]
        self._sigmoids = (self._i, self._f, self._o)

    @property
    def state(self) -> Array:
        """The hidden state ``h``, a live view; copy it to keep it."""
        return self._h

    @property
    def activity(self) -> Array:
        """Every unit's ``h`` (a new array)."""
        out: Array = self._h.copy()
        return out

    @property
    def memory(self) -> Array:
        """The LSTM cell state ``c``."""
        return self._cell

    def reset(self) -> None:
        """Zero ``h`` and ``c``."""
        self._buffer.fill(0.0)
        self._cell.fill(0.0)

    def step(self, x: npt.ArrayLike, dt_s: float) -> Array:
        """Advance one step with input ``x``; return ``h`` (an internal buffer)."""
        self._x[...] = x
        z, tmp = self._z, self._tmp
        np.dot(self._weight, self._buffer, out=z)
        z += self._bias
        np.tanh(z, out=z)
        for gate in self._sigmoids:
            gate *= 0.5
            gate += 0.5
        self._cell *= self._f
        np.multiply(self._i, self._g, out=tmp)
        self._cell += tmp
        np.tanh(self._cell, out=tmp)
        np.multiply(tmp, self._o, out=self._h)
        return self._h


class FeedForwardRuntime:
    """A memoryless tanh MLP; its last output is kept as the state/activity.

    Raises:
        CheckpointError: a config key or array is missing or has the wrong shape.
    """

    memory = None

    def __init__(
        self,
        artifact: Artifact,
        config: Mapping[str, Any],
        prefix: str = "core.",
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        where = prefix.rstrip(".")
        self.input_size = read_int(config, "input_size", where, minimum=1)
        n = self.state_size = self.output_size = read_int(
            config, "units", where, minimum=1, maximum=MAX_CORE_UNITS
        )
        layers = read_int(config, "layers", where, minimum=1, maximum=MAX_HIDDEN_LAYERS)
        self._layers: list[tuple[Array, Array, Array]] = []
        width = self.input_size
        for index in range(layers):
            name = f"{prefix}rnn_cell.{2 * index}"
            weight = artifact.array(f"{name}.weight", (n, width))
            bias = artifact.array(f"{name}.bias", (n,))
            self._layers.append(
                (
                    np.ascontiguousarray(weight, dtype=dtype),
                    np.ascontiguousarray(bias, dtype=dtype),
                    np.zeros(n, dtype=dtype),
                )
            )
            width = n
        self._x = np.zeros(self.input_size, dtype=dtype)

    @property
    def state(self) -> Array:
        """The last output, a live view (never read back by :meth:`step`)."""
        return self._layers[-1][2]

    @property
    def activity(self) -> Array:
        """The last output (a new array)."""
        out: Array = self.state.copy()
        return out

    def reset(self) -> None:
        """Zero the reported activity (there is no memory to reset)."""
        self.state.fill(0.0)

    def step(self, x: npt.ArrayLike, dt_s: float) -> Array:
        """Return the output for input ``x`` (an internal buffer)."""
        self._x[...] = x
        features = self._x
        for weight, bias, out in self._layers:
            np.dot(weight, features, out=out)
            out += bias
            np.tanh(out, out=out)
            features = out
        return features
