r"""Fused numpy LTC step: ncps 1.0.1's semi-implicit solver with ``ode_unfolds``.

ncps's ``LTCCell`` maps the input (``x * input_w + input_b``), then repeats
``ode_unfolds`` times

.. math::

    v \leftarrow \frac{c_m v / \Delta + g_l v_l + \sum_i a_{ij} E_{ij} + S^E_j}
                      {c_m / \Delta + g_l + \sum_i a_{ij} + S^W_j + \epsilon},
    \qquad a_{ij} = w_{ij} m_{ij} \sigma(\sigma_{ij} (v_i - \mu_{ij}))

with :math:`\Delta = dt / \text{unfolds}` and the sensory sums :math:`S^E, S^W`
computed the same way from the input. Positive parameters go through softplus
when ``implicit_param_constraints`` is set. The output is the first
``motor_size`` neurons mapped by ``output_w``/``output_b``.

What is fused at load time: softplus, masks and reversal potentials multiplied
into two weight planes; the input mapping folded into the sensory sigmoid; the
sigmoid's ``1/2`` folded so that ``sigma(z) = (1 + tanh(z/2)) / 2``, which turns
the constant half into per-neuron offsets. Per unfold the step then does six
numpy calls: an outer product, a subtraction, a tanh, one broadcast multiply
against the ``(2, n + 2, n)`` weight planes and one row-sum (as a matrix product)
giving numerator and denominator together, and a division. The two extra rows
carry ``c_m v / \Delta`` (the row holding ``v`` itself) and the per-step
constants, so no separate additions are needed.

Artifact arrays (prefix ``core.``): ``cell.{gleak, vleak, cm, sigma, mu, w, erev,
sensory_sigma, sensory_mu, sensory_w, sensory_erev, sparsity_mask,
sensory_sparsity_mask}`` and, per mapping, ``cell.input_w/.input_b/.output_w/.output_b``;
``lstm.*`` for mixed memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ObservationError
from liquid_controller.runtime.artifact import Artifact
from liquid_controller.runtime.config import read_bool, read_choice, read_float, read_int
from liquid_controller.runtime.layers import LSTMMemory, MemoryMixin
from liquid_controller.runtime.limits import MAX_ODE_UNFOLDS

__all__ = ["LTCRuntime"]

Array = npt.NDArray[Any]
_MAPPINGS = ("affine", "linear", "none")


def _softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


class _SynapsePlanes:
    """Synapse sums ``sum_i tanh(slope_ij x_i - offset_ij) * plane_kij`` for both planes ``k``.

    ``extra_rows`` rows below the synapses keep whatever the caller writes into
    ``tanh`` (ones by default) and ``planes``, so constants ride along in the sum.
    """

    def __init__(
        self,
        slope: Array,
        offset: Array,
        numerator: Array,
        denominator: Array,
        extra_rows: int,
        dtype: npt.DTypeLike,
    ) -> None:
        rows, cols = slope.shape
        self.slope, self.offset = slope, offset
        self.planes = np.zeros((2, rows + extra_rows, cols), dtype=dtype)
        self.planes[0, :rows], self.planes[1, :rows] = numerator, denominator
        self.tanh = np.ones((rows + extra_rows, cols), dtype=dtype)
        self._body = self.tanh[:rows]
        self._arg = np.zeros((rows, cols), dtype=dtype)
        self._prod = np.zeros((2, rows + extra_rows, cols), dtype=dtype)
        self.sums = np.zeros((2, 1, cols), dtype=dtype)
        self._ones = np.ones((1, rows + extra_rows), dtype=dtype)

    def evaluate(self, column: Array) -> Array:
        """Fill :attr:`sums` (shape ``(2, 1, cols)``) for presynaptic values ``column``."""
        np.multiply(column, self.slope, out=self._arg)
        self._arg -= self.offset
        np.tanh(self._arg, out=self._body)
        np.multiply(self.tanh, self.planes, out=self._prod)
        np.matmul(self._ones, self._prod, out=self.sums)
        return self.sums


class LTCRuntime(MemoryMixin):
    """An LTC network stepped one sample at a time with numpy only.

    Args:
        artifact: the loaded artifact holding the arrays.
        config: the core's config section.
        prefix: array-name prefix, e.g. ``"core."``.
        dtype: compute dtype.

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
        self.dtype = dt = np.dtype(dtype)
        self.input_size = k = read_int(config, "input_size", where, minimum=1)
        self.state_size = n = read_int(config, "units", where, minimum=1)
        self.motor_size = read_int(config, "motor_size", where, minimum=1)
        self.ode_unfolds = read_int(
            config, "ode_unfolds", where, minimum=1, maximum=MAX_ODE_UNFOLDS
        )
        epsilon = read_float(config, "epsilon", where, default=1e-8)
        implicit = read_bool(config, "implicit_param_constraints", where)
        input_mapping = read_choice(config, "input_mapping", where, _MAPPINGS, default="affine")
        output_mapping = read_choice(config, "output_mapping", where, _MAPPINGS, default="affine")
        self.mixed_memory = read_bool(config, "mixed_memory", where, default=False)
        self.output_size = self.motor_size

        def arr(name: str, shape: tuple[int, ...]) -> Array:
            return artifact.array(f"{prefix}cell.{name}", shape)

        positive = _softplus if implicit else (lambda a: a)

        # Sensory synapses, with the input mapping folded in:
        # sigma_s (x w + b - mu_s) = x (sigma_s w) - sigma_s (mu_s - b).
        in_w = arr("input_w", (k,)) if input_mapping in ("affine", "linear") else np.ones(k)
        in_b = arr("input_b", (k,)) if input_mapping == "affine" else np.zeros(k)
        s_sigma = arr("sensory_sigma", (k, n))
        s_mu = arr("sensory_mu", (k, n))
        s_w = positive(arr("sensory_w", (k, n))) * np.abs(arr("sensory_sparsity_mask", (k, n)))
        s_erev = arr("sensory_erev", (k, n))
        self._s_slope = np.ascontiguousarray(0.5 * s_sigma * in_w[:, None], dtype=dt)
        self._s_offset = np.ascontiguousarray(0.5 * s_sigma * (s_mu - in_b[:, None]), dtype=dt)

        # Recurrent synapses.
        sigma, mu = arr("sigma", (n, n)), arr("mu", (n, n))
        w = positive(arr("w", (n, n))) * np.abs(arr("sparsity_mask", (n, n)))
        erev = arr("erev", (n, n))
        self._slope = np.ascontiguousarray(0.5 * sigma, dtype=dt)
        self._offset = np.ascontiguousarray(0.5 * sigma * mu, dtype=dt)

        gleak = positive(arr("gleak", (n,)))
        vleak = arr("vleak", (n,))
        self._cm = np.ascontiguousarray(positive(arr("cm", (n,))), dtype=dt)

        # a = w (1 + tanh) / 2: constant halves become per-neuron offsets.
        const_num = 0.5 * (w * erev).sum(0) + 0.5 * (s_w * s_erev).sum(0) + gleak * vleak
        const_den = 0.5 * w.sum(0) + 0.5 * s_w.sum(0) + gleak + epsilon

        # Sensory planes: row k is all ones and carries the constants.
        self._sensory = _SynapsePlanes(
            self._s_slope, self._s_offset, 0.5 * s_w * s_erev, 0.5 * s_w, 1, dt
        )
        self._sensory.planes[0, k], self._sensory.planes[1, k] = const_num, const_den
        # Recurrent planes: row n is all ones (per-step constants), row n+1 holds
        # v itself (times c_m / Delta in the numerator plane).
        self._recurrent = _SynapsePlanes(self._slope, self._offset, 0.5 * w * erev, 0.5 * w, 2, dt)
        self._planes = self._recurrent.planes
        self._tanh = self._recurrent.tanh

        # The state v lives in row n+1 of the tanh buffer.
        self._v: Array = self._tanh[n + 1]
        self._v.fill(0.0)
        self._v_col = self._v.reshape(n, 1)
        self._x = np.zeros(k, dtype=dt)
        self._x_col = self._x.reshape(k, 1)
        self._cm_row = self._planes[0, n + 1]
        self._num_const, self._den_const = self._planes[0, n], self._planes[1, n]
        self._num, self._den = self._recurrent.sums[0, 0], self._recurrent.sums[1, 0]

        if output_mapping in ("affine", "linear"):
            out_w = arr("output_w", (self.motor_size,))
        else:
            out_w = np.ones(self.motor_size)
        out_b = (
            arr("output_b", (self.motor_size,))
            if output_mapping == "affine"
            else np.zeros(self.motor_size)
        )
        self._out_w = np.ascontiguousarray(out_w, dtype=dt)
        self._out_b = np.ascontiguousarray(out_b, dtype=dt)
        self._y = np.zeros(self.motor_size, dtype=dt)
        self._motor = self._v[: self.motor_size]

        self._lstm: LSTMMemory | None = None
        if self.mixed_memory:
            self._lstm = LSTMMemory(
                artifact.array(f"{prefix}lstm.input_map.weight", (4 * n, k)),
                artifact.array(f"{prefix}lstm.input_map.bias", (4 * n,)),
                artifact.array(f"{prefix}lstm.recurrent_map.weight", (4 * n, n)),
                dt,
            )
            self._xh = np.zeros(k + n, dtype=dt)

    @property
    def state(self) -> Array:
        """The membrane potentials (activity of every neuron), a live view."""
        return self._v

    @property
    def activity(self) -> Array:
        """Every neuron's potential in neuron-id order (a new array)."""
        return np.array(self._v, copy=True)

    def reset(self) -> None:
        """Zero the membrane potentials (and the LSTM memory)."""
        self._v.fill(0.0)
        self._reset_memory()

    def step(self, x: npt.ArrayLike, dt_s: float) -> Array:
        """Advance by ``dt_s`` seconds (> 0) with input ``x``; return the motor output.

        The returned array is an internal buffer, overwritten by the next step.

        Raises:
            ObservationError: ``dt_s`` is not a positive finite number (the solver
                divides by it).
        """
        if not 0.0 < dt_s < float("inf"):
            raise ObservationError("dt_s", f"{dt_s!r}; expected a positive finite time step")
        x_col = self._x_col
        self._x[...] = x
        if self._lstm is not None:
            xh = self._xh
            xh[: self.input_size] = self._x
            xh[self.input_size :] = self._v
            self._lstm.step(xh, self._v)

        # Sensory sums (constant over the unfolds) plus the per-neuron constants.
        sensory = self._sensory.evaluate(x_col)
        cm_row = self._cm_row
        np.multiply(self._cm, self.ode_unfolds / dt_s, out=cm_row)
        self._num_const[...] = sensory[0, 0]
        np.add(sensory[1, 0], cm_row, out=self._den_const)

        evaluate, v_col, num, den, v = (
            self._recurrent.evaluate,
            self._v_col,
            self._num,
            self._den,
            self._v,
        )
        for _ in range(self.ode_unfolds):
            evaluate(v_col)
            np.divide(num, den, out=v)

        np.multiply(self._motor, self._out_w, out=self._y)
        self._y += self._out_b
        return self._y
