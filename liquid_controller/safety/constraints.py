r"""Build the safety QP's rows for a state: box, rate, force and barrier rows.

The filter's QP, over the efforts :math:`u \in \mathbb{R}^n` and one slack per soft
barrier row :math:`s \in \mathbb{R}^{m_s}`:

.. math::

    \min_{u, s} \; \tfrac12 \| W (u - u_{nom}) \|^2 + \tfrac12 \rho \| s \|^2
    \quad \text{s.t.} \quad
    \begin{cases}
    \underline u \le u \le \overline u & \text{box} \cap \text{rate window (hard)} \\
    s \ge 0 \\
    \ell_F \le F u \le u_F & \text{force rows (hard)} \\
    G u + E s \ge b(x, k) & \text{barrier rows}
    \end{cases}

with :math:`W = \mathrm{diag}(w)` (``weights``), :math:`\rho` = ``slack_weight``,
:math:`\underline u = \max(u_{min}, u_{prev} - \dot u_{max} \Delta t)`,
:math:`\overline u = \min(u_{max}, u_{prev} + \dot u_{max} \Delta t)`, and :math:`E` the
0/1 matrix giving each soft barrier row its own slack (hard rows have none). Barrier row
:math:`i` (relative degree :math:`r`, gains :math:`k`) reads, from :mod:`.barriers`:

.. math::

    G_i u + \mathrm{drift}_i + \sum_{j<r} c_j(k)\, h^{(j)}_i \ge -s_i
    \iff G_i u + s_i \ge b_i := -\mathrm{drift}_i - \sum_{j<r} c_j(k)\, h^{(j)}_i .

So for a torch layer (BarrierNet) that supplies the gains per sample: take
:meth:`ConstraintBuilder.barrier_terms` (gain-free, per state), compute
:math:`c(k)` per row (:func:`~.barriers.class_k_coefficients`, or in torch:
:math:`c_0 = k_1` for :math:`r = 1`; :math:`c_0 = k_1 k_2, c_1 = k_1 + k_2` for
:math:`r = 2`; the row's barrier is :attr:`ConstraintBuilder.row_barrier` and its gains are
``gains[ConstraintBuilder.gain_slices[barrier]]``), then :math:`b` as above.

Precedence when the rate window misses the box (only possible when ``u_prev`` lies
outside the box, e.g. after :meth:`~.filter.SafetyFilter.reset`): the box wins, and the
window for that actuator collapses to the box point nearest ``u_prev``.

Row order: force rows in config order (a function entry contributes its ``rows``), then
built-in joint barrier rows (per joint barrier in config order: upper rows, then lower
rows, in joint order), then plug-in barrier rows in config order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError
from liquid_controller.safety.barriers import (
    BarrierTerms,
    JointBarrierRows,
    class_k_coefficients,
    read_joint_state,
)
from liquid_controller.safety.conditioning import (
    check_class_k,
    check_cost,
    check_row_range,
    row_ranges,
)
from liquid_controller.safety.config import BarrierKind, SafetyConfig
from liquid_controller.safety.plugins import PluginKind, resolve_plugin
from liquid_controller.safety.qp import QPProblem

__all__ = ["ConstraintBuilder", "ForceRows", "RateWindow"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class RateWindow(NamedTuple):
    r"""Effective bounds :math:`\underline u \le u \le \overline u` for one tick."""

    lower: FloatArray
    upper: FloatArray
    rate_yields: bool
    """True when the rate window missed the box for some actuator and the box won."""


class ForceRows(NamedTuple):
    """Hard rows ``lower <= F @ u <= upper`` for one state."""

    F: FloatArray
    lower: FloatArray
    upper: FloatArray


class _Plugin(NamedTuple):
    key: str
    name: str
    function: Callable[..., Any]
    rows: int
    degree: int
    params: Mapping[str, Any]


def _checked(key: str, value: Any, shape: tuple[int, ...]) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ConfigError(key, f"array of shape {array.shape}", f"shape {shape}")
    return array


class ConstraintBuilder:
    r"""Everything about the QP that comes from the config, plus the per-state row builders.

    Args:
        config: the validated safety configuration.

    Attributes:
        n: number of actuators.
        effort_min / effort_max: (n,) the box.
        rate_max: (n,) effort units per second, or ``None``.
        weights: (n,) diagonal of :math:`W`.
        slack_weight: :math:`\rho`.
        force_names: one name per force row, ``"traction"`` or ``"traction[1]"``.
        barrier_names: one name per barrier row, e.g. ``"wheel_speed.upper[left_wheel]"``.
        row_barrier: (m,) index into ``config.barriers`` of each barrier row.
        soft: (m,) True for rows with a slack (not ``hard``).
        degree_max: the largest relative degree (columns of ``derivatives``), at least 1.
        gain_slices: per barrier, its slice of the flat gains vector.
        default_gains: the flat vector of every barrier's ``class_k``, in config order.
    """

    def __init__(self, config: SafetyConfig) -> None:
        limits = config.actuators
        n = self.n = limits.size
        self.names = limits.names
        self.effort_min = np.array(limits.effort_min, dtype=np.float64)
        self.effort_max = np.array(limits.effort_max, dtype=np.float64)
        self.rate_max = (
            None if limits.rate_max is None else np.array(limits.rate_max, dtype=np.float64)
        )
        self._step, self._step_dt = np.zeros(n), float("nan")  # rate_max * dt, last dt
        self.weights = np.ones(n) if config.weights is None else np.array(config.weights)
        self.slack_weight = float(config.slack_weight)

        # Force rows: constant blocks, and functions evaluated per state.
        blocks: list[tuple[FloatArray, FloatArray, FloatArray] | _Plugin] = []
        force_names: list[str] = []
        for i, entry in enumerate(config.force_limits):
            key = f"force_limits[{i}].function"
            if entry.function is not None:
                fn = resolve_plugin(key, PluginKind.FORCE_LIMIT, entry.function)
                blocks.append(_Plugin(key, entry.function, fn, entry.rows, 0, entry.params))
            else:
                assert entry.A is not None and entry.lower is not None and entry.upper is not None
                A = np.array(entry.A)
                ranges = row_ranges(A, self.effort_min, self.effort_max)
                check_row_range(f"force_limits[{i}].A", entry.A, ranges, "rows A @ u")
                blocks.append((A, np.array(entry.lower), np.array(entry.upper)))
            force_names += (
                [entry.name]
                if entry.rows == 1
                else [f"{entry.name}[{r}]" for r in range(entry.rows)]
            )
        self._force_blocks = blocks
        self.force_names = tuple(force_names)
        self.force_dynamic = any(isinstance(b, _Plugin) for b in blocks)
        self._force_static = None if self.force_dynamic else self._stack_force({})

        # Barrier rows: built-in joint rows (vectorised), then plug-ins.
        self._check_barrier_numbers(config)
        self.joint_rows = JointBarrierRows(config.barriers, n)
        barrier_names: list[str] = []
        for barrier in config.barriers:
            if barrier.kind is not BarrierKind.PLUGIN:
                for side, joints in (("upper", barrier.joints), ("lower", barrier.joints)):
                    barrier_names += [f"{barrier.name}.{side}[{self.names[j]}]" for j in joints]
        plugins: list[_Plugin] = []
        row_barrier = list(self.joint_rows.barrier_index)
        for index, barrier in enumerate(config.barriers):
            if barrier.kind is BarrierKind.PLUGIN:
                assert barrier.function is not None
                key = f"barriers[{index}].function"
                fn = resolve_plugin(key, PluginKind.BARRIER, barrier.function)
                plugins.append(
                    _Plugin(
                        key, barrier.function, fn, barrier.rows, barrier.relative_degree,
                        barrier.params,
                    )
                )  # fmt: skip
                row_barrier += [index] * barrier.rows
                barrier_names += [
                    barrier.name if barrier.rows == 1 else f"{barrier.name}[{r}]"
                    for r in range(barrier.rows)
                ]
        self._plugins = plugins
        self.barrier_names = tuple(barrier_names)
        self.row_barrier = np.array(row_barrier, dtype=np.intp)
        self.soft = np.array([not config.barriers[i].hard for i in row_barrier], dtype=bool)
        self.row_degree = np.array(
            [config.barriers[i].relative_degree for i in row_barrier], dtype=np.intp
        )
        self.degree_max = max([1, *(b.relative_degree for b in config.barriers)])
        check_cost(self.weights.tolist(), self.slack_weight, bool(self.soft.any()))
        self.needs_joint_state = self.joint_rows.rows > 0
        self.needs_state = bool(self.needs_joint_state or plugins or self.force_dynamic)

        # Gains: flat vector, each barrier's class_k in config order.
        slices: list[slice] = []
        start = 0
        for barrier in config.barriers:
            slices.append(slice(start, start + barrier.relative_degree))
            start += barrier.relative_degree
        self.gain_slices = tuple(slices)
        self.default_gains = np.array(
            [k for b in config.barriers for k in b.class_k], dtype=np.float64
        )
        coefficients = self.coefficients(self.default_gains)
        joint = slice(0, self.joint_rows.rows)
        P, offset = self.joint_rows.affine_bound(
            coefficients[joint, 0],
            coefficients[joint, 1] if self.degree_max > 1 else np.zeros(self.joint_rows.rows),
        )
        self.joint_bound = (np.ascontiguousarray(P[:, :n]), np.ascontiguousarray(P[:, n:]), offset)
        """``(Pq, Pv, p)``: with the default gains and no plug-ins, the barrier bounds are
        ``b = Pq @ joint_position + Pv @ joint_velocity + p`` (the filter's fast path)."""
        self._trial_plugins(config.nominal_state)

    def _check_barrier_numbers(self, config: SafetyConfig) -> None:
        """Reject gains above the bound and joint rows ``u_j / inertia_j`` beyond the range."""
        for index, barrier in enumerate(config.barriers):
            check_class_k(f"barriers[{index}].class_k", barrier.class_k)
            for jj, (j, inertia) in enumerate(zip(barrier.joints, barrier.inertia, strict=True)):
                row = np.zeros((1, self.n))
                with np.errstate(over="ignore"):
                    row[0, j] = 1.0 / inertia
                check_row_range(
                    f"barriers[{index}].inertia[{jj}]", inertia,
                    row_ranges(row, self.effort_min, self.effort_max), "rows |u| / inertia",
                )  # fmt: skip

    # ------------------------------------------------------------------ plug-ins

    def _force_terms(self, plugin: _Plugin, state: Mapping[str, Any]) -> tuple[FloatArray, ...]:
        """Return ``(F, lower, upper)`` of a force-limit function at ``state``, shape-checked."""
        a, lo, hi = plugin.function(state, plugin.params)
        return (
            _checked(plugin.key, a, (plugin.rows, self.n)),
            _checked(plugin.key, lo, (plugin.rows,)),
            _checked(plugin.key, hi, (plugin.rows,)),
        )

    def _barrier_terms(self, plugin: _Plugin, state: Mapping[str, Any]) -> tuple[FloatArray, ...]:
        """Return ``(G, drift, derivatives)`` of a plug-in barrier at ``state``, shape-checked."""
        terms = plugin.function(state, plugin.params)
        return (
            _checked(plugin.key, terms.G, (plugin.rows, self.n)),
            _checked(plugin.key, terms.drift, (plugin.rows,)),
            _checked(plugin.key, terms.derivatives, (plugin.rows, plugin.degree)),
        )

    def _trial_plugins(self, nominal: Mapping[str, Any]) -> None:
        """Call every plug-in once on the nominal state; fail the load if one misbehaves.

        Raises:
            ConfigError: naming the plug-in's key, if it raises, returns wrong shapes or
                non-finite terms (bounds may be infinite, not NaN or crossed).
        """
        state: dict[str, Any] = {
            "joint_position": np.zeros(self.n),
            "joint_velocity": np.zeros(self.n),
        }
        state.update({k: np.array(v) if isinstance(v, tuple) else v for k, v in nominal.items()})
        for block in self._force_blocks:
            if isinstance(block, _Plugin):
                F, lower, upper = self._trial(block, state, self._force_terms)
                check_row_range(
                    block.key, block.name, row_ranges(F, self.effort_min, self.effort_max),
                    "rows A @ u at the nominal state",
                )  # fmt: skip
                if not np.isfinite(F).all() or not (lower <= upper).all():
                    raise ConfigError(
                        block.key, block.name, "finite rows with lower <= upper at the nominal "
                        f"state (got A {F.tolist()}, bounds {lower.tolist()}, {upper.tolist()})",
                    )  # fmt: skip
        for plugin in self._plugins:
            terms = self._trial(plugin, state, self._barrier_terms)
            if not all(np.isfinite(array).all() for array in terms):
                raise ConfigError(
                    plugin.key, plugin.name,
                    f"finite terms at the nominal state (got {[a.tolist() for a in terms]})",
                )  # fmt: skip
            check_row_range(
                plugin.key, plugin.name, row_ranges(terms[0], self.effort_min, self.effort_max),
                "rows G @ u at the nominal state",
            )  # fmt: skip

    @staticmethod
    def _trial(
        plugin: _Plugin,
        state: Mapping[str, Any],
        terms: Callable[[_Plugin, Mapping[str, Any]], tuple[FloatArray, ...]],
    ) -> tuple[FloatArray, ...]:
        """Return ``terms(plugin, state)``; whatever the plug-in raises is a ConfigError."""
        try:
            with np.errstate(all="ignore"):
                return terms(plugin, state)
        except ConfigError:
            raise
        except Exception as err:  # fail the load, not a control tick
            raise ConfigError(
                plugin.key, plugin.name, "a plug-in that evaluates on the nominal state "
                f"(keys {sorted(state)}; add what it reads under nominal_state); "
                f"it raised {type(err).__name__}: {err}",
            ) from None  # fmt: skip

    # ------------------------------------------------------------------ sizes

    @property
    def num_force_rows(self) -> int:
        """Number of force rows ``k``."""
        return len(self.force_names)

    @property
    def num_barrier_rows(self) -> int:
        """Number of barrier rows ``m``."""
        return len(self.barrier_names)

    @property
    def num_slacks(self) -> int:
        """Number of slack variables ``m_s`` (soft barrier rows)."""
        return int(np.count_nonzero(self.soft))

    @property
    def num_gains(self) -> int:
        """Length of the flat gains vector (sum of relative degrees over barriers)."""
        return int(self.default_gains.shape[0])

    # ------------------------------------------------------------------ rows

    def window(self, u_prev: FloatArray, dt: float) -> RateWindow:
        """Return the box intersected with the rate window around ``u_prev``.

        Args:
            u_prev: (n,) the previous command (finite).
            dt: seconds since it was emitted (>= 0).
        """
        lower, upper = np.empty(self.n), np.empty(self.n)
        return RateWindow(lower, upper, self.write_window(u_prev, dt, lower, upper))

    def write_window(
        self,
        u_prev: FloatArray,
        dt: float,
        lower: FloatArray,
        upper: FloatArray,
        u_prev_in_box: bool = False,
    ) -> bool:
        """Write :meth:`window` into ``lower`` and ``upper`` (n,); return ``rate_yields``.

        The filter's hot path: no arrays or result tuple to build. ``u_prev_in_box``: the
        caller knows ``u_prev`` lies in the box, so the window cannot miss it and the check
        is skipped.
        """
        if self.rate_max is None:
            lower[...] = self.effort_min
            upper[...] = self.effort_max
            return False
        if dt != self._step_dt:  # the step for a fixed rate is computed once
            self._step, self._step_dt = self.rate_max * dt, dt
        step = self._step
        np.maximum(np.subtract(u_prev, step, out=lower), self.effort_min, out=lower)
        np.minimum(np.add(u_prev, step, out=upper), self.effort_max, out=upper)
        if u_prev_in_box:
            return False
        missed = lower > upper
        if missed.any():
            nearest = np.clip(u_prev, self.effort_min, self.effort_max)
            lower[missed] = nearest[missed]
            upper[missed] = nearest[missed]
            return True
        return False

    def _stack_force(self, state: Mapping[str, Any]) -> ForceRows:
        F, lower, upper = [np.zeros((0, self.n))], [np.zeros(0)], [np.zeros(0)]
        for block in self._force_blocks:
            if isinstance(block, _Plugin):
                a, lo, hi = self._force_terms(block, state)
                F.append(a)
                lower.append(lo)
                upper.append(hi)
            else:
                F.append(block[0])
                lower.append(block[1])
                upper.append(block[2])
        return ForceRows(np.vstack(F), np.concatenate(lower), np.concatenate(upper))

    def force_rows(self, state: Mapping[str, Any] | None) -> ForceRows:
        """Return the force rows at ``state`` (constant unless a function entry exists).

        Raises:
            ConfigError: a function entry returned arrays of the wrong shape.
        """
        if self._force_static is not None:
            return self._force_static
        return self._stack_force({} if state is None else state)

    def barrier_terms(self, state: Mapping[str, Any]) -> BarrierTerms:
        """Return the gain-free terms of every barrier row.

        ``derivatives`` is padded to ``degree_max`` columns with zeros.

        Raises:
            ObservationError: the state lacks a joint array or has a wrong shape.
            ConfigError: a plug-in returned arrays of the wrong shape.
        """
        G, drift, derivatives = [], [], []
        if self.needs_joint_state:
            q, v = read_joint_state(state, self.n)
            joint = self.joint_rows.terms(np.concatenate((q, v)))
            G.append(joint.G)
            drift.append(joint.drift)
            derivatives.append(self._pad(joint.derivatives[:, : self.degree_max]))
        for plugin in self._plugins:
            g, d, h = self._barrier_terms(plugin, state)
            G.append(g)
            drift.append(d)
            derivatives.append(self._pad(h))
        if not G:
            return BarrierTerms(np.zeros((0, self.n)), np.zeros(0), np.zeros((0, self.degree_max)))
        return BarrierTerms(np.vstack(G), np.concatenate(drift), np.vstack(derivatives))

    def _pad(self, derivatives: FloatArray) -> FloatArray:
        width = derivatives.shape[1]
        if width == self.degree_max:
            return derivatives
        return np.hstack((derivatives, np.zeros((derivatives.shape[0], self.degree_max - width))))

    def coefficients(self, gains: FloatArray) -> FloatArray:
        """Return per-row class-K polynomial coefficients, shape (m, degree_max).

        Args:
            gains: the flat gains vector (see :attr:`gain_slices`), all > 0.
        """
        per_barrier = [self._pad(class_k_coefficients(gains[s])[None, :]) for s in self.gain_slices]
        if not per_barrier:
            return np.zeros((0, self.degree_max))
        return np.vstack(per_barrier)[self.row_barrier]

    def barrier_rows(
        self, state: Mapping[str, Any], gains: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Return ``(G, b)``: the barrier rows read ``G u (+ s) >= b``.

        Args:
            state: the state mapping (see :mod:`.barriers`).
            gains: flat class-K gains (default: each barrier's ``class_k``).
        """
        if gains is None and not self._plugins:
            if not self.needs_joint_state:
                return self.joint_rows.G, self.joint_bound[2]
            q, v = read_joint_state(state, self.n)
            Pq, Pv, p = self.joint_bound
            return self.joint_rows.G, Pq @ q + Pv @ v + p
        terms = self.barrier_terms(state)
        c = self.coefficients(self.default_gains if gains is None else np.asarray(gains, float))
        return terms.G, -(terms.drift + np.einsum("ij,ij->i", c, terms.derivatives))

    # ------------------------------------------------------------------ the QP

    def slack_matrix(self) -> FloatArray:
        """Return :math:`E`, shape (m, m_s): row i has a 1 in its slack's column if soft."""
        E = np.zeros((self.num_barrier_rows, self.num_slacks))
        E[np.flatnonzero(self.soft), np.arange(self.num_slacks)] = 1.0
        return E

    def problem(
        self,
        u_nominal: FloatArray,
        state: Mapping[str, Any] | None,
        u_prev: FloatArray,
        dt: float,
        gains: FloatArray | None = None,
    ) -> QPProblem:
        """Assemble the whole QP (the form in the module docstring) for one tick.

        The variables are ``x = [u; s]``. This allocates; the filter's hot path fills
        preallocated buffers from the same row builders instead.

        Args:
            u_nominal: (n,) finite nominal command.
            state: state mapping, or ``None`` when no barrier or force function needs one.
            u_prev: (n,) previous command.
            dt: seconds since ``u_prev`` (>= 0).
            gains: flat class-K gains (default: config).
        """
        n, ms = self.n, self.num_slacks
        w2 = self.weights**2
        H = np.diag(np.concatenate((w2, np.full(ms, self.slack_weight))))
        f = np.concatenate((-w2 * u_nominal, np.zeros(ms)))
        bounds = self.window(u_prev, dt)
        force = self.force_rows(state)
        if self.num_barrier_rows:
            G, b = self.barrier_rows({} if state is None else state, gains)
        else:
            G, b = np.zeros((0, n)), np.zeros(0)
        A = np.block([[force.F, np.zeros((force.F.shape[0], ms))], [G, self.slack_matrix()]])
        lower = np.concatenate((bounds.lower, np.zeros(ms), force.lower, b))
        upper = np.concatenate(
            (bounds.upper, np.full(ms, np.inf), force.upper, np.full(b.shape[0], np.inf))
        )
        return QPProblem(H=H, f=f, A=A, lower=lower, upper=upper)
