r"""State barriers: built-in joint limits and the plug-in protocol.

A barrier is a function :math:`h(x)` with the safe set :math:`\{x : h(x) \ge 0\}` and a
control-affine model :math:`\dot x = f(x) + g(x) u`. For relative degree :math:`r` and
linear class-K gains :math:`k_1, \dots, k_r > 0` the (high-order) CBF condition is

.. math::

    L_g L_f^{r-1} h \, u + L_f^r h + \sum_{j=0}^{r-1} c_j h^{(j)} \ge -s,
    \qquad s^r + \sum_{j<r} c_j s^j = \prod_{i=1}^{r} (s + k_i)

(:math:`s \ge 0` a slack for soft barriers, :math:`s = 0` for ``hard: true``). For
:math:`r = 1`: :math:`c_0 = k_1`; for :math:`r = 2`: :math:`c_1 = k_1 + k_2`,
:math:`c_0 = k_1 k_2` (Xiao & Belta's HOCBF with :math:`\psi_1 = \dot h + k_1 h`).

Every barrier reports, for a state, one :class:`BarrierTerms` per row: ``G`` =
:math:`L_g L_f^{r-1} h`, ``drift`` = :math:`L_f^r h` and ``derivatives`` =
:math:`[h, \dot h, \dots, h^{(r-1)}]` (without the control). The gains enter only through
:func:`class_k_coefficients`, so a caller (BarrierNet) can supply them per sample.

State (a mapping; arrays in actuator order, SI units):

- ``joint_position`` (n,) rad (or m), ``joint_velocity`` (n,) rad/s (or m/s) — read by
  the built-in joint barriers;
- anything else a plug-in wants (e.g. ``pose``), passed through untouched.

Built-in joint model (torque-controlled joint :math:`i`, inertia :math:`I_i` in kg m²,
viscous damping :math:`d_i` in 1/s): :math:`\ddot q_i = u_i / I_i - d_i \dot q_i`.

- ``joint_position``: :math:`h = q_{max} - q` and :math:`h = q - q_{min}`, relative degree 2;
- ``joint_velocity``: :math:`h = \dot q_{max} - \dot q` and :math:`h = \dot q - \dot q_{min}`,
  relative degree 1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, cast

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ObservationError
from liquid_controller.safety.config import BarrierConfig, BarrierKind

__all__ = [
    "BarrierFunction",
    "BarrierTerms",
    "JointBarrierRows",
    "class_k_coefficients",
    "read_joint_state",
    "real_array",
]

FloatArray = npt.NDArray[np.float64]
_F64 = np.dtype(np.float64)


class BarrierTerms(NamedTuple):
    """Gain-free terms of ``rows`` barrier conditions for one state (see module docstring)."""

    G: FloatArray
    r"""(rows, n): :math:`L_g L_f^{r-1} h`, the control row."""
    drift: FloatArray
    r"""(rows,): :math:`L_f^r h`."""
    derivatives: FloatArray
    r"""(rows, r): :math:`h, \dot h, \dots, h^{(r-1)}`."""


class BarrierFunction(Protocol):
    """A plug-in barrier, registered by name (see :mod:`.plugins`) in ``barriers[i].function``.

    Called once at load on the config's ``nominal_state`` (it must then return finite terms
    of the right shapes, or the load fails) and once per filter tick with the state mapping
    and the entry's ``params``; must return :class:`BarrierTerms` with exactly ``rows``
    rows, ``n`` columns in ``G`` and ``relative_degree`` columns in ``derivatives``. At run
    time, non-finite values or an ``ArithmeticError`` make the filter fall back to its safe
    command; wrong shapes raise :class:`ConfigError`.
    """

    def __call__(self, state: Mapping[str, Any], params: Mapping[str, Any]) -> BarrierTerms:
        """Return the barrier terms at ``state``."""
        ...


def class_k_coefficients(gains: Sequence[float] | FloatArray) -> FloatArray:
    r"""Return :math:`c_0, \dots, c_{r-1}` with :math:`\prod_i (s + k_i) = s^r + \sum_j c_j s^j`.

    Args:
        gains: the linear class-K gains :math:`k_1, \dots, k_r`.

    Returns:
        Array of shape (r,), lowest order first.
    """
    poly = np.poly(-np.asarray(gains, dtype=np.float64))  # highest order first, leading 1
    return np.ascontiguousarray(poly[:0:-1], dtype=np.float64)


def real_array(field: str, value: Any) -> FloatArray:
    """Return ``value`` as a float64 array (no copy if it is one); too large numbers -> +-inf.

    Numeric trouble is left for the caller's finiteness check (the filter then falls back):
    an integer beyond the float range becomes ``inf`` with its sign.

    Raises:
        ObservationError: ``value`` holds something other than real numbers (strings,
            complex numbers, ``None``, ragged lists); complex values are never truncated.
    """
    if value.__class__ is np.ndarray and value.dtype is _F64:
        return value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged nesting
        raise ObservationError(field, f"not numeric ({err}); expected real numbers") from None
    kind = array.dtype.kind
    if kind in "biuf":
        with np.errstate(over="ignore"):  # long double beyond the float64 range -> inf
            return array.astype(np.float64, copy=False)
    if kind == "O":  # Python ints beyond int64, or mixed objects
        flat = [_real_number(field, x) for x in array.flat]
        return np.array(flat, dtype=np.float64).reshape(array.shape)
    raise ObservationError(field, f"not numeric ({array.dtype} values); expected real numbers")


def _real_number(field: str, value: Any) -> float:
    if not isinstance(value, numbers.Real):
        raise ObservationError(field, f"not numeric ({value!r:.40}); expected real numbers")
    try:
        return float(value)
    except OverflowError:
        return math.inf if cast(float, value) > 0 else -math.inf  # an int, for typing


def read_joint_state(state: Mapping[str, Any], n: int) -> tuple[FloatArray, FloatArray]:
    """Return ``(joint_position, joint_velocity)`` as float64 arrays of shape (n,).

    Raises:
        ObservationError: a key is missing, an array has the wrong shape or holds no real
            numbers. Non-finite values (and ones beyond the float range, as +-inf) are
            returned as they are: the filter checks them and falls back.
    """
    arrays = []
    for key in ("joint_position", "joint_velocity"):
        if key not in state:
            raise ObservationError(key, f"missing from the safety state; expected shape ({n},)")
        array = real_array(key, state[key])
        if array.shape != (n,):
            raise ObservationError(key, f"shape {array.shape}; expected ({n},)")
        arrays.append(array)
    return arrays[0], arrays[1]


class JointBarrierRows:
    r"""All built-in joint barrier rows of a config, evaluated together.

    Each row belongs to joint :math:`j` with sign :math:`\sigma` (+1 upper limit, -1 lower
    limit) and limit :math:`L`; for position rows :math:`h = \sigma (L - q_j)`,
    :math:`\dot h = -\sigma \dot q_j`, for velocity rows :math:`h = \sigma (L - \dot q_j)`.
    Both have :math:`G = -\sigma / I_j \, e_j^\top` and drift :math:`\sigma d_j \dot q_j`.
    Every term is affine in :math:`z = [q; \dot q]`, so they are stored as matrices.

    Rows come in config order: for each joint barrier, its upper rows (joint order), then
    its lower rows.
    """

    def __init__(self, barriers: Sequence[BarrierConfig], n: int) -> None:
        rows: list[tuple[int, int, float, float, float, float, bool]] = []
        for index, barrier in enumerate(barriers):
            if barrier.kind is BarrierKind.PLUGIN:
                continue
            position = barrier.kind is BarrierKind.JOINT_POSITION
            for sigma, limits in ((1.0, barrier.upper), (-1.0, barrier.lower)):
                for j, limit, inertia, damping in zip(
                    barrier.joints, limits, barrier.inertia, barrier.damping, strict=True
                ):
                    rows.append((index, j, sigma, limit, inertia, damping, position))
        m = len(rows)
        self.barrier_index = np.array([r[0] for r in rows], dtype=np.intp)
        self.G = np.zeros((m, n))
        self.H0 = np.zeros((m, 2 * n))
        self.h0_offset = np.zeros(m)
        self.H1 = np.zeros((m, 2 * n))
        self.D = np.zeros((m, 2 * n))
        for r, (_, j, sigma, limit, inertia, damping, position) in enumerate(rows):
            self.G[r, j] = -sigma / inertia
            self.H0[r, j if position else n + j] = -sigma
            self.h0_offset[r] = sigma * limit
            if position:
                self.H1[r, n + j] = -sigma
            self.D[r, n + j] = sigma * damping

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(self.G.shape[0])

    def terms(self, z: FloatArray) -> BarrierTerms:
        """Return the terms at ``z = [joint_position; joint_velocity]``."""
        derivatives = np.stack((self.H0 @ z + self.h0_offset, self.H1 @ z), axis=1)
        return BarrierTerms(self.G, self.D @ z, derivatives)

    def affine_bound(self, c0: FloatArray, c1: FloatArray) -> tuple[FloatArray, FloatArray]:
        r"""Return ``(P, p)`` with the row bound :math:`b(z) = P z + p` for fixed coefficients.

        The condition :math:`G u \ge b` has :math:`b = -(D z + c_0 (H_0 z + h_0) + c_1 H_1 z)`.
        """
        P = -(self.D + c0[:, None] * self.H0 + c1[:, None] * self.H1)
        return P, -c0 * self.h0_offset
