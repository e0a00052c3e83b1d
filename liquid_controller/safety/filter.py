r"""The safety filter: the last gate before the actuators.

``SafetyFilter.filter(u_nominal, state, t)`` returns a command that satisfies every hard
constraint (actuator box exactly; rate, force and hard barrier rows to 1e-9) and, when
the nominal already satisfies everything, *is* the nominal, bit for bit. Otherwise it is
the optimum of the QP in :mod:`.constraints` (soft barriers relaxed through slack), solved
exactly by DAQP; see :mod:`.reference` for the same QP in cvxpy.

Precedence when the hard constraints cannot all hold. The filter then emits the *safe
command* (``fallback: zero`` -> zero effort, ``hold`` -> the last command) passed through
as many hard constraints as can hold together, dropping them in this order:

1. all of them: box, rate, force rows and barrier rows (soft ones with slack);
2. barriers dropped: box, rate and force rows (:attr:`Enforced.LIMITS`);
3. force rows dropped: box and rate (:attr:`Enforced.BOX_RATE`), where the safe command
   is simply clipped into the rate window. Level 3 always exists: the box wins over the
   rate limit if they ever disagree (see :mod:`.constraints`).

With rate limits, the fallback is therefore a rate-limited ramp toward the safe command,
never a jump. The same levels serve invalid input: a non-finite nominal or one beyond
:data:`NOMINAL_LIMIT`, non-finite or non-positive gains (status
``FALLBACK_INVALID_NOMINAL``) and a missing state, or one non-finite or beyond
:data:`STATE_LIMIT`, when the config needs one (``FALLBACK_INVALID_STATE``: level 1 is
skipped because the barriers cannot be evaluated; also when a plug-in raises an
``ArithmeticError`` on the state). ``filter()`` raises only for programming errors: a
nominal or gains of the wrong length or not real (strings, complex numbers are never
truncated), a ``t`` that is not a real number, a state lacking a key.

Every solver answer is checked (rows to 1e-9 in config units, NaN-proof) before it is
used. When DAQP finds no verified optimum, quadprog (if installed) gets a second go with
the fixed actuators substituted out; only if that fails too is the tick infeasible
(``FALLBACK_INFEASIBLE``) or a solver error (``FALLBACK_SOLVER_ERROR``, also used when the
nominal's QP was called infeasible but the safe command then met every hard constraint).

Time. The rate step is :math:`\Delta t`:

- ``t is None``: :math:`\Delta t` = ``timing.period_s`` (fixed-rate callers);
- first timed call (or after :meth:`SafetyFilter.reset` without ``t``): ``period_s``;
- otherwise :math:`\Delta t = \min(t - t_{prev}, \text{max\_dt\_s})`;
- ``t`` going backwards (a clock reset, a looping bag) or repeating: :math:`\Delta t = 0`
  (the command is held) and ``t`` becomes the new reference; a non-finite ``t`` also
  gives :math:`\Delta t = 0` and leaves the reference unchanged.

The previous command starts as zero clipped into the box (an actuator at rest);
:meth:`SafetyFilter.reset` sets it to a measured value.
"""

from __future__ import annotations

import enum
import math
import numbers
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError, ObservationError
from liquid_controller.safety.barriers import read_joint_state, real_array
from liquid_controller.safety.conditioning import HARD_TOLERANCE
from liquid_controller.safety.config import FallbackMode, SafetyConfig, load_config, parse_config
from liquid_controller.safety.constraints import ConstraintBuilder, ForceRows
from liquid_controller.safety.qp import (
    DaqpWorkspace,
    QPProblem,
    QPStatus,
    available_solvers,
    row_scale,
    solve,
    solve_without_fixed,
)

__all__ = [
    "NOMINAL_LIMIT",
    "STATE_LIMIT",
    "Enforced",
    "FilterResult",
    "FilterStatus",
    "SafetyFilter",
]

FloatArray = npt.NDArray[np.float64]

#: A nominal entry with a larger magnitude is invalid (no actuator has such a range, and
#: the QP loses precision for costs near 1e13).
NOMINAL_LIMIT = 1e9
#: The backend asked when the configured one finds no verified optimum (see ``_solve``).
SECOND_OPINION = "quadprog"
#: A joint position or velocity entry with a larger magnitude makes the state invalid.
STATE_LIMIT = 1e12
#: A slack above this makes the status ``RELAXED``.
SLACK_TOLERANCE = 1e-9

# The reductions themselves: the ndarray methods add a Python wrapper to every call.
_all = np.logical_and.reduce
_max = np.maximum.reduce


def _seconds(t: Any) -> float:
    """Return the time ``t`` as a float; beyond the float range it is ``inf`` (dt = 0).

    Raises:
        ObservationError: ``t`` is not a real number (a string, an array, ``True``).
    """
    if isinstance(t, np.ndarray) and t.shape == ():
        t = t[()]
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise ObservationError("t", f"{t!r:.40} is not a real number of seconds (or None)")
    try:
        return float(t)
    except OverflowError:
        return math.inf


class FilterStatus(enum.Enum):
    """What the filter did this tick."""

    PASSTHROUGH = "passthrough"
    """The nominal satisfied everything and was returned unchanged."""
    OPTIMAL = "optimal"
    """The QP optimum, every barrier satisfied without slack."""
    RELAXED = "relaxed"
    """The QP optimum with some soft barrier relaxed through its slack."""
    FALLBACK_INVALID_NOMINAL = "fallback_invalid_nominal"
    """The nominal (or the gains) was non-finite or beyond ``NOMINAL_LIMIT``."""
    FALLBACK_INVALID_STATE = "fallback_invalid_state"
    """No state, or a non-finite one, while barriers or force functions need it."""
    FALLBACK_INFEASIBLE = "fallback_infeasible"
    """The hard constraints cannot all hold; see the precedence in the module docstring."""
    FALLBACK_SOLVER_ERROR = "fallback_solver_error"
    """The solver failed, or its answer broke a hard row, on a feasible problem."""
    FALLBACK_REQUESTED = "fallback_requested"
    """:meth:`SafetyFilter.fallback` was called (e.g. stale inputs)."""

    @property
    def fallback(self) -> bool:
        """True for every ``FALLBACK_*`` status (the safe command was emitted)."""
        return self.value.startswith("fallback")


class Enforced(enum.Enum):
    """Which hard constraints the emitted command satisfies (the precedence level)."""

    ALL = "all"
    """Box, rate, force rows and hard barriers."""
    LIMITS = "limits"
    """Box, rate and force rows; barriers dropped."""
    BOX_RATE = "box_rate"
    """Box and rate only; force rows dropped as well."""


class FilterResult(NamedTuple):
    """One tick's outcome.

    Attributes:
        u: (n,) the command to send (a fresh array, never aliased by the filter).
        intervened: True on every fallback and whenever ``u`` differs from the nominal;
            False on passthrough (and if the QP's optimum is the nominal bit for bit).
        status: :class:`FilterStatus`.
        active_constraints: names of the constraints binding at ``u`` (e.g.
            ``effort_max[left_wheel]``, ``rate_max[left_wheel]``, ``traction.upper``,
            ``wheel_speed.upper[left_wheel]``); empty on passthrough.
        slack: (m,) slack per barrier row (0 for hard rows and unrelaxed rows).
        solve_time_s: wall time of the whole ``filter()`` call, seconds.
        reason: a sentence on why, empty on passthrough and plain optimal solves.
        enforced: :class:`Enforced`, which hard constraints ``u`` satisfies.
    """

    u: FloatArray
    intervened: bool
    status: FilterStatus
    active_constraints: tuple[str, ...]
    slack: FloatArray
    solve_time_s: float
    reason: str
    enforced: Enforced = Enforced.ALL

    @property
    def fallback(self) -> bool:
        """True when the safe command was emitted instead of a filtered nominal."""
        return self.status.fallback


class _Solved(NamedTuple):
    """A checked solution ``x = [u; s]`` with its residuals ``L - M x`` and ``M x - U``."""

    x: FloatArray
    below: FloatArray
    above: FloatArray
    rows: int
    duals: FloatArray | None = None
    """DAQP's multipliers (hot path only): the binding set without a residual test."""


class SafetyFilter:
    """The CBF-QP safety filter (see the module docstring for its guarantees).

    The QP's data live in preallocated buffers over ``x = [u; s]``: bounds
    ``L <= M x <= U`` with ``M = [I; A]`` and ``A = [[F, 0], [G, E]]`` (force rows, then
    barrier rows). Each tick writes only what changed (the rate window, the barrier
    bounds, and the rows of state-dependent entries) and hands the same arrays to DAQP.

    Args:
        config: a validated :class:`SafetyConfig` or the YAML mapping to validate.

    Raises:
        ConfigError: the config is invalid, names an unavailable solver, or its force
            rows exclude every command in the actuator box together.
    """

    def __init__(self, config: SafetyConfig | Mapping[str, Any]) -> None:
        self.config = config if isinstance(config, SafetyConfig) else parse_config(config)
        b = self.builder = ConstraintBuilder(self.config)
        if self.config.solver not in available_solvers():
            raise ConfigError(
                "solver", self.config.solver, "one of " + ", ".join(available_solvers())
            )
        self.n = n = b.n
        k, m, ms = b.num_force_rows, b.num_barrier_rows, b.num_slacks
        self._k, self._m, self._ms, nx = k, m, ms, n + ms
        self._nx = nx
        self._w2 = b.weights**2
        self._H = np.diag(np.concatenate((self._w2, np.full(ms, b.slack_weight))))
        self._fast_barriers = m > 0 and not b._plugins
        # M = [I; A]; A is a view, so writing rows of A updates the check matrix too.
        # S = [M; -M] and LU = [L; -U] turn both sides of L <= M x <= U into one test,
        # LU <= S x; M, L and -U are views into them (U itself is DAQP's upper bound).
        N = nx + k + m
        self._S = np.zeros((2 * N, nx))
        self._M = self._S[:N]
        self._M[:nx] = np.eye(nx)
        self._A = self._M[nx:]
        self._LU = np.zeros(2 * N)
        self._L = self._LU[:N]
        self._neg_U = self._LU[N:]
        self._U = np.full(N, np.inf)
        self._neg_U[...] = -np.inf
        self._force = slice(nx, nx + k)
        self._barrier = slice(nx + k, nx + k + m)
        # Views written every tick (slicing anew costs as much as the write).
        self._L_u, self._U_u, self._neg_U_u = self._L[:n], self._U[:n], self._neg_U[:n]
        self._L_x, self._U_x = self._L[:nx], self._U[:nx]
        self._L_barrier = self._L[self._barrier]
        self._f = np.zeros(nx)
        self._f_u = self._f[:n]
        self._neg_w2 = -self._w2
        # Rows are scaled by powers of two (exact; see qp.row_scale), so the tolerance of
        # row i is HARD_TOLERANCE times its scale: hard rows hold to 1e-9 in config units.
        self._scale = np.ones(k + m)
        self._barrier_scale = self._scale[k:]
        self._tol = np.full(nx + k + m, HARD_TOLERANCE)
        # Work buffers for the stacked tests LU <= S x (residuals) and LU <= S u (nominal).
        self._residual = np.empty(2 * N)
        self._below, self._above = self._residual[:N], self._residual[N:]
        self._Su_nominal = np.empty(2 * N)
        self._holds = np.empty(2 * N, dtype=bool)
        self._sync_derived()
        self._E = b.slack_matrix()
        if not b.force_dynamic:
            self._write_force(b.force_rows(None))
        self._write_barrier_rows(b.joint_rows.G if b.joint_rows.rows == m else np.zeros((m, n)))
        self._L[self._barrier] = -1.0  # placeholder bound until the first tick writes it
        if self._fast_barriers:  # only joint rows: b = P [q; v] + p, times the row scales
            Pq, Pv, p = b.joint_bound
            self._scaled_joint_bound = (
                np.hstack((Pq, Pv, p[:, None])) * self._barrier_scale[:, None]
            )
            self._z = np.ones(2 * n + 1)  # [q; v; 1], so one product gives the bound
            self._z_abs = np.empty(2 * n + 1)
        self._a_changed = False
        # Names for active-constraint reports, indexed like L and U.
        self._min_names = [f"effort_min[{x}]" for x in b.names]
        self._max_names = [f"effort_max[{x}]" for x in b.names]
        self._rate_names = [f"rate_max[{x}]" for x in b.names]
        self._box_min, self._box_max = b.effort_min.tolist(), b.effort_max.tolist()
        self._names_lower = ["" for _ in range(nx)] + [f"{x}.lower" for x in b.force_names]
        self._names_lower += list(b.barrier_names)
        self._names_upper = ["" for _ in range(nx)] + [f"{x}.upper" for x in b.force_names]
        self._names_upper += ["" for _ in range(m)]
        self._fallback_target: FloatArray = np.clip(np.zeros(n), b.effort_min, b.effort_max)
        self._u_prev: FloatArray = self._fallback_target.copy()
        self._u_prev_in_box = True  # every emitted command is; reset() may say otherwise
        self._t_prev: float | None = None
        self._second_opinion = (
            SECOND_OPINION
            if SECOND_OPINION in available_solvers() and self.config.solver != SECOND_OPINION
            else None
        )
        self._check_force_rows_meet_box()
        self._workspace = None
        if self.config.solver == "daqp" and k + m > 0:
            probe = self._problem(self._fallback_target, k + m)
            probe.lower[:] = -np.inf  # surely feasible: only the shape matters for set-up
            probe.upper[:] = np.inf
            self._workspace = DaqpWorkspace(probe)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SafetyFilter:
        """Load ``path`` (see :mod:`.config`) and build the filter."""
        return cls(load_config(path))

    # ------------------------------------------------------------------ state

    @property
    def u_prev(self) -> FloatArray:
        """A copy of the last command emitted (or the initial one)."""
        out: FloatArray = self._u_prev.copy()
        return out

    def reset(self, u_prev: Any = None, t: float | None = None) -> None:
        """Forget the past: set the previous command and the time reference.

        Args:
            u_prev: (n,) the actuators' current effort (default: zero clipped into the box).
            t: the time of ``u_prev`` in seconds (default: none; the next call uses
                ``timing.period_s``).

        Raises:
            ObservationError: ``u_prev`` has the wrong shape or a non-finite entry, or ``t``
                is not a real number.
        """
        if u_prev is None:
            self._u_prev = self._fallback_target.copy()
        else:
            value = self._vector("u_prev", u_prev, self.n)
            if not np.all(np.isfinite(value)):
                raise ObservationError("u_prev", f"non-finite value {value.tolist()}")
            self._u_prev = value.copy()
        b = self.builder
        self._u_prev_in_box = bool(
            np.all(self._u_prev >= b.effort_min) and np.all(self._u_prev <= b.effort_max)
        )
        seconds = None if t is None else _seconds(t)
        self._t_prev = None if seconds is None or not math.isfinite(seconds) else seconds

    def _advance_time(self, t: float | None) -> float:
        timing = self.config.timing
        if t is None:
            self._t_prev = None
            return timing.period_s
        if t.__class__ is not float:
            t = _seconds(t)
        if not math.isfinite(t):
            return 0.0
        previous, self._t_prev = self._t_prev, t
        if previous is None:
            return timing.period_s
        return min(max(t - previous, 0.0), timing.max_dt_s)

    def _vector(self, name: str, value: Any, size: int) -> FloatArray:
        array = real_array(name, value)
        if array.shape != (size,):
            what = f"one per actuator {self.builder.names}" if name != "gains" else "class-K gains"
            raise ObservationError(name, f"shape {array.shape}; expected ({size},), {what}")
        return array

    # ------------------------------------------------------------------ writing rows

    def _write_window(self, dt: float) -> None:
        self.builder.write_window(self._u_prev, dt, self._L_u, self._U_u, self._u_prev_in_box)
        np.negative(self._U_u, out=self._neg_U_u)

    def _write_rows(self, state: Mapping[str, Any] | None, gains: FloatArray | None) -> str:
        """Write this tick's force and barrier rows; return why they are unusable, or ''.

        Sets ``self._force_ok`` (the force rows are valid even if the barriers are not).
        """
        b = self.builder
        self._force_ok = True
        if b.needs_state and state is None:
            self._force_ok = not b.force_dynamic
            return "no state given"
        if b.force_dynamic:
            try:
                force = b.force_rows(state)
            except ArithmeticError as err:
                self._force_ok = False
                return f"force-limit function failed on the state ({type(err).__name__}: {err})"
            if not (np.all(np.isfinite(force.F)) and np.all(force.lower <= force.upper)):
                self._force_ok = False
                return "force-limit function returned non-finite or crossed rows"
            self._write_force(force)
        if self._m == 0:
            return ""
        if self._fast_barriers and gains is None:
            n, z = self.n, self._z
            z[:n], z[n : 2 * n] = read_joint_state({} if state is None else state, n)
            if not _max(np.abs(z, out=self._z_abs)) <= STATE_LIMIT:
                return f"joint state non-finite or beyond +-{STATE_LIMIT:g}"
            np.dot(self._scaled_joint_bound, z, out=self._L_barrier)
            return ""  # finite: bounded state, finite coefficients
        with np.errstate(all="ignore"):  # garbage in a plug-in's state is reported below
            try:
                G, bound = b.barrier_rows({} if state is None else state, gains)
            except ArithmeticError as err:
                return f"barrier plug-in failed on the state ({type(err).__name__}: {err})"
        if not np.all(np.isfinite(G)):
            return "state gives non-finite barrier rows"
        if not self._fast_barriers:
            self._write_barrier_rows(G)
        np.multiply(bound, self._barrier_scale, out=self._L_barrier)
        if not math.isfinite(float(np.add.reduce(self._L_barrier))):
            return "state gives non-finite barrier rows"
        return ""

    def _sync_derived(self) -> None:
        """Derive -M, S's u columns (contiguous: a faster product) and the tolerances.

        Runs whenever rows or scales change.
        """
        np.negative(self._M, out=self._S[self._M.shape[0] :])
        self._Su = np.ascontiguousarray(self._S[:, : self.n])
        self._tol2 = np.concatenate((self._tol, self._tol))
        self._neg_tol = -self._tol

    def _write_force(self, force: ForceRows) -> None:
        k, n = self._k, self.n
        scale = self._scale[:k]
        scale[...] = row_scale(force.F)
        self._A[:k, :n] = force.F * scale[:, None]
        self._L[self._force] = force.lower * scale
        self._U[self._force] = force.upper * scale
        self._neg_U[self._force] = -self._U[self._force]
        self._tol[self._force] = HARD_TOLERANCE * scale
        self._sync_derived()
        self._a_changed = True

    def _write_barrier_rows(self, G: FloatArray) -> None:
        """Write ``[G, E]`` scaled; the caller scales the bound with ``_barrier_scale``."""
        k, n = self._k, self.n
        scale = self._barrier_scale
        scale[...] = row_scale(np.hstack((G, self._E)))
        self._A[k:, :n] = G * scale[:, None]
        self._A[k:, n:] = self._E * scale[:, None]
        self._tol[self._barrier] = HARD_TOLERANCE * scale
        self._sync_derived()
        self._a_changed = True

    # ------------------------------------------------------------------ solving

    def _problem(self, target: FloatArray, rows: int) -> QPProblem:
        """Copy the current buffers into a QP over ``x = [u; s]`` with the first ``rows``."""
        nx = self._nx
        f = np.zeros(nx)
        f[: self.n] = -self._w2 * target
        end = nx + rows
        return QPProblem(
            H=self._H, f=f, A=self._A[:rows].copy(), lower=self._L[:end].copy(),
            upper=self._U[:end].copy(),
        )  # fmt: skip

    def _solve(self, target: FloatArray, rows: int) -> tuple[_Solved | None, QPStatus]:
        """Solve toward ``target`` with the first ``rows`` general rows; check the answer.

        The configured backend answers first (DAQP through the preallocated workspace on
        the hot path). If it reports no optimum, or its answer misses a row by more than
        the tolerance, the second opinion (:data:`SECOND_OPINION`, when installed and not
        the configured backend) solves the same problem; its verdict stands. DAQP can
        misread degenerate sets (fixed actuators, rows parallel to active bounds) as
        infeasible; Goldfarb-Idnani (quadprog) is slower but not fooled by them.

        Returns ``(solved, status)``; ``solved`` (``x`` clipped into its bounds) is ``None``
        unless optimal with every row within :data:`HARD_TOLERANCE`.
        """
        if rows == 0:  # a weighted projection onto a box is the clip
            x = np.zeros(self._nx)
            np.minimum(np.maximum(target, self._L_u), self._U_u, out=x[: self.n])
            return self._residuals(x, 0), QPStatus.OPTIMAL
        if self._workspace is not None and rows == self._k + self._m:
            np.multiply(self._neg_w2, target, out=self._f_u)
            x, status, duals = self._workspace.solve(
                self._f, self._L, self._U, self._A if self._a_changed else None
            )
            self._a_changed = False
            solved = self._checked(x, status, rows, duals)
            if solved is not None:
                return solved, status
            problem = None
        else:
            problem = self._problem(target, rows)
            solution = solve(problem, self.config.solver)
            solved = self._checked(solution.x, solution.status, rows)
            if solved is not None:
                return solved, solution.status
            status = solution.status
        if self._second_opinion is None:
            return None, status if status is not QPStatus.OPTIMAL else QPStatus.ERROR
        solution = solve_without_fixed(problem or self._problem(target, rows), self._second_opinion)
        solved = self._checked(solution.x, solution.status, rows)
        if solved is not None:
            return solved, solution.status
        return None, solution.status if solution.status is not QPStatus.OPTIMAL else QPStatus.ERROR

    def _checked(
        self, x: FloatArray, status: QPStatus, rows: int, duals: FloatArray | None = None
    ) -> _Solved | None:
        """Clip an optimal ``x`` into its bounds and verify the rows; ``None`` if it fails.

        With all rows, the residuals live in a buffer that the next check overwrites.
        """
        if status is not QPStatus.OPTIMAL:  # (a NaN in x fails the tests below)
            return None
        np.minimum(np.maximum(x, self._L_x, out=x), self._U_x, out=x)
        if rows == self._k + self._m:  # all rows, stacked: one test for both sides
            residual = np.subtract(
                self._LU, np.dot(self._S, x, out=self._residual), out=self._residual
            )
            # written so that a NaN anywhere fails the check
            if not _all(np.less_equal(residual, self._tol2, out=self._holds)):
                return None
            return _Solved(x, self._below, self._above, rows, duals)
        solved = self._residuals(x, rows)
        tol = self._tol[: self._nx + rows]
        if not ((solved.below <= tol).all() and (solved.above <= tol).all()):
            return None
        return solved

    def _residuals(self, x: FloatArray, rows: int) -> _Solved:
        end = self._nx + rows
        values = self._M[:end] @ x
        return _Solved(x, self._L[:end] - values, values - self._U[:end], rows)

    def _active(self, solved: _Solved) -> tuple[str, ...]:
        """Names of the binding bounds and rows.

        Binding means a nonzero multiplier where DAQP's workspace solved the tick, and a
        residual within :data:`HARD_TOLERANCE` elsewhere (fallbacks, other backends, the
        box-only clip); the two agree except at degenerate optima, where a constraint
        touches with a zero multiplier.
        """
        if solved.duals is not None:  # binding: nonzero multiplier, by sign
            binding = solved.duals.nonzero()[0].tolist()
            duals = solved.duals.tolist()
            lower = [i for i in binding if duals[i] < 0.0]
            upper = [i for i in binding if duals[i] > 0.0]
        else:  # binding: residual within tolerance
            tol = self._neg_tol[: self._nx + solved.rows]
            lower = (solved.below >= tol).nonzero()[0].tolist()
            upper = (solved.above >= tol).nonzero()[0].tolist()
        names = self._names(lower, self._L_u, self._box_min, self._min_names, self._names_lower)
        names += self._names(upper, self._U_u, self._box_max, self._max_names, self._names_upper)
        return tuple(names)

    def _names(
        self,
        binding: list[int],
        window: FloatArray,
        box: list[float],
        box_names: list[str],
        row_names: list[str],
    ) -> list[str]:
        """Names of one side's binding bounds and rows (one loop: few entries bind).

        An actuator bound is named after the box when the box set it, else the rate window.
        """
        n = self.n
        names: list[str] = []
        bound: list[float] | None = None
        for i in binding:
            if i < n:
                if bound is None:
                    bound = window.tolist()
                names.append(box_names[i] if bound[i] == box[i] else self._rate_names[i])
            elif row_names[i]:
                names.append(row_names[i])
        return names

    def _slack(self, x: FloatArray | None) -> FloatArray:
        """Slack per barrier row (``E s``: exact, E is 0/1), zeros without a solution."""
        if x is None or not self._ms:
            return np.zeros(self._m)
        slack: FloatArray = np.dot(self._E, x[self.n :])
        return slack

    # ------------------------------------------------------------------ public

    def filter(
        self,
        u_nominal: Any,
        state: Mapping[str, Any] | None = None,
        t: float | None = None,
        gains: Any = None,
    ) -> FilterResult:
        """Return the safe command closest to ``u_nominal`` (see the module docstring).

        Args:
            u_nominal: (n,) the nominal command in actuator order.
            state: the state mapping (``joint_position``, ``joint_velocity``, plus what
                plug-ins read); ``None`` if unavailable.
            t: the time of this tick in seconds (any monotonic clock), or ``None``.
            gains: flat class-K gains for the barriers (BarrierNet's head), default config.

        Raises:
            ObservationError: ``u_nominal`` or ``gains`` has the wrong shape or holds no real
                numbers (strings, complex), ``t`` is not a real number, or ``state`` lacks
                a key or has a wrong-shaped array. Never for numeric trouble: NaN, inf and
                numbers beyond the float range fall back, as does an ``ArithmeticError``
                raised by a plug-in on this state.
        """
        start = time.perf_counter()
        u_nom = self._vector("u_nominal", u_nominal, self.n)
        gain_array = None if gains is None else self._vector("gains", gains, self.builder.num_gains)
        self._write_window(self._advance_time(t))
        if not _max(np.abs(u_nom)) <= NOMINAL_LIMIT:
            reason = f"nominal {u_nom.tolist()} is non-finite or beyond +-{NOMINAL_LIMIT:g}"
            return self._fallback(FilterStatus.FALLBACK_INVALID_NOMINAL, reason, state, start)
        if gain_array is not None and not (gain_array > 0.0).all():
            reason = f"class-K gains {gain_array.tolist()} are not all > 0"
            return self._fallback(FilterStatus.FALLBACK_INVALID_NOMINAL, reason, state, start)
        if gain_array is not None and not np.isfinite(gain_array).all():
            reason = f"class-K gains {gain_array.tolist()} are not all finite"
            return self._fallback(FilterStatus.FALLBACK_INVALID_NOMINAL, reason, state, start)
        problem = self._write_rows(state, gain_array)
        if problem:
            return self._fallback(FilterStatus.FALLBACK_INVALID_STATE, problem, state, start, True)
        Su_nominal = np.dot(self._Su, u_nom, out=self._Su_nominal)
        if _all(np.greater_equal(Su_nominal, self._LU, out=self._holds)):
            return FilterResult(
                self._emit(u_nom), False, FilterStatus.PASSTHROUGH, (), np.zeros(self._m),
                time.perf_counter() - start, "",
            )  # fmt: skip
        solved, qp_status = self._solve(u_nom, self._k + self._m)
        if solved is None:
            status = FilterStatus.FALLBACK_INFEASIBLE
            reason = "hard constraints cannot all hold"
            if qp_status is not QPStatus.INFEASIBLE:
                status = FilterStatus.FALLBACK_SOLVER_ERROR
                reason = f"solver {self.config.solver} failed ({qp_status.value})"
            return self._fallback(status, reason, state, start, True)
        slack = self._slack(solved.x)
        relaxed = bool(self._ms and max(slack.tolist()) > SLACK_TOLERANCE)  # x is finite
        u = solved.x[: self.n]
        return FilterResult(
            self._emit(u),
            u.tolist() != u_nom.tolist(),  # by value: -0.0 == 0.0
            FilterStatus.RELAXED if relaxed else FilterStatus.OPTIMAL,
            self._active(solved),
            slack,
            time.perf_counter() - start,
            "soft barriers relaxed through slack" if relaxed else "",
        )

    def fallback(
        self, reason: str, t: float | None = None, state: Mapping[str, Any] | None = None
    ) -> FilterResult:
        """Emit the safe command (e.g. on stale inputs), ramped under the rate limit.

        Args:
            reason: why, copied into :attr:`FilterResult.reason`.
            t: the time of this tick (same rules as :meth:`filter`).
            state: the state, if still valid, so barriers can shape the safe command.
        """
        start = time.perf_counter()
        self._write_window(self._advance_time(t))
        return self._fallback(FilterStatus.FALLBACK_REQUESTED, reason, state, start)

    def _fallback(
        self,
        status: FilterStatus,
        reason: str,
        state: Mapping[str, Any] | None,
        start: float,
        rows_written: bool = False,
    ) -> FilterResult:
        """Walk the precedence levels toward the safe command (module docstring)."""
        hold = self.config.fallback is FallbackMode.HOLD
        target = self._u_prev if hold else self._fallback_target
        barriers_ok = rows_written and status is not FilterStatus.FALLBACK_INVALID_STATE
        if not rows_written:
            barriers_ok = not self._write_rows(state, None)
        levels: list[tuple[int, Enforced]] = []
        if barriers_ok:
            levels.append((self._k + self._m, Enforced.ALL))
        if self._force_ok:
            levels.append((self._k, Enforced.LIMITS))
        levels.append((0, Enforced.BOX_RATE))  # the clip: always succeeds
        tried: set[int] = set()
        solved: _Solved | None = None
        enforced = Enforced.BOX_RATE
        for level_rows, level in levels:
            if level_rows in tried:  # the same rows as a higher level: no barriers to drop
                continue
            tried.add(level_rows)
            solved, _ = self._solve(target, level_rows)
            if solved is not None:
                enforced = level
                break
        assert solved is not None
        if status is FilterStatus.FALLBACK_INFEASIBLE and enforced is Enforced.ALL:
            # The safe command met the whole hard set, so it was not infeasible after all.
            status = FilterStatus.FALLBACK_SOLVER_ERROR
            reason = f"solver {self.config.solver} reported the nominal's QP infeasible"
        if enforced is Enforced.LIMITS and self._m:
            reason += "; barriers dropped"
        elif enforced is Enforced.BOX_RATE and self._k + self._m:
            reason += "; barriers and force limits dropped"
        return FilterResult(
            self._emit(solved.x[: self.n]),
            True,
            status,
            self._active(solved),
            self._slack(solved.x if enforced is Enforced.ALL else None),
            time.perf_counter() - start,
            f"{reason}; safe command ({self.config.fallback.value})",
            enforced,
        )

    def _emit(self, u: FloatArray) -> FloatArray:
        """Remember ``u`` as the previous command; return a copy nobody else holds."""
        self._u_prev = u.copy()
        self._u_prev_in_box = True
        out: FloatArray = u.copy()
        return out

    def _check_force_rows_meet_box(self) -> None:
        b = self.builder
        if b.force_dynamic or b.num_force_rows == 0:
            return
        force = b.force_rows(None)
        # Widen the bands by 1e-6 of their scale: a band that meets the box in a single
        # point is satisfiable, though the solver may call such a degenerate set infeasible
        # (at run time that case falls back by precedence).
        box_scale = np.abs(force.F) @ np.maximum(np.abs(b.effort_min), np.abs(b.effort_max))
        slack = 1e-6 * (1.0 + np.abs(force.lower) + np.abs(force.upper) + box_scale)
        scale = row_scale(force.F)
        problem = QPProblem(
            H=np.eye(self.n),
            f=np.zeros(self.n),
            A=force.F * scale[:, None],
            lower=np.concatenate((b.effort_min, (force.lower - slack) * scale)),
            upper=np.concatenate((b.effort_max, (force.upper + slack) * scale)),
        )
        solvers = [self.config.solver] + ([self._second_opinion] if self._second_opinion else [])
        if not any(solve_without_fixed(problem, name).found for name in solvers):
            raise ConfigError(
                "force_limits",
                [f.name for f in self.config.force_limits],
                "rows that some command inside the actuator box satisfies together",
            )
