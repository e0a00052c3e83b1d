r"""The safety QP written in cvxpy: the readable statement of the filter and the test oracle.

.. math::

    \min_{u, s \ge 0} \; \tfrac12 \| W (u - u_{nom}) \|^2 + \tfrac12 \rho \| s \|^2
    \quad \text{s.t.} \quad
    \underline u \le u \le \overline u, \;
    \ell_F \le F u \le u_F, \;
    G u + E s \ge b

(see :mod:`.constraints` for where each piece comes from). cvxpy is a development
dependency, imported when a :class:`ReferenceQP` is built. The problem is parametrised
(DPP), so re-solving it each tick only re-fills parameters: this is the "cvxpy re-solve"
the benchmark compares against.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.safety.constraints import ConstraintBuilder

__all__ = ["ReferenceQP"]

FloatArray = npt.NDArray[np.float64]
HIGHS_TIME_LIMIT_S = 5.0
"""A HiGHS solve of these tiny QPs takes well under a millisecond; past this it has stalled."""


class ReferenceQP:
    """A cvxpy DPP problem for one :class:`ConstraintBuilder` shape (see :meth:`shape_of`).

    Args:
        builder: the constraint builder of the filter to mirror.
        solver: a cvxpy solver name. The default, HIGHS (an active-set QP method, independent
            of DAQP), is exact at degenerate optima, where interior-point methods such as
            CLARABEL only reach about the square root of their tolerance (5e-6 at 1e-10).
        tolerance: CLARABEL's gap and feasibility tolerances when ``solver="CLARABEL"``.
    """

    def __init__(
        self, builder: ConstraintBuilder, solver: str = "HIGHS", tolerance: float = 1e-10
    ) -> None:
        cp: Any = importlib.import_module("cvxpy")  # untyped; a dev dependency

        self.builder = builder
        self.solver = solver
        self.options: dict[str, float] = (
            {"tol_gap_abs": tolerance, "tol_gap_rel": tolerance, "tol_feas": tolerance}
            if solver == "CLARABEL"
            else {}
        )
        n, k, m, ms = (
            builder.n,
            builder.num_force_rows,
            builder.num_barrier_rows,
            builder.num_slacks,
        )
        self.u: Any = cp.Variable(n)
        self.s: Any = cp.Variable(ms) if ms else None
        self.lower = cp.Parameter(n)
        self.upper = cp.Parameter(n)
        self.F: Any = cp.Parameter((k, n)) if k else None
        self.F_lower: Any = cp.Parameter(k) if k else None
        self.F_upper: Any = cp.Parameter(k) if k else None
        self.G: Any = cp.Parameter((m, n)) if m else None
        self.b: Any = cp.Parameter(m) if m else None

        # DPP keeps parameters out of products with each other: W u_nom and sqrt(rho) are
        # parameters of their own.
        self.weights: Any = cp.Parameter(n, pos=True)
        self.weighted_nominal: Any = cp.Parameter(n)
        self.sqrt_slack_weight: Any = cp.Parameter(pos=True)
        cost = 0.5 * cp.sum_squares(cp.multiply(self.weights, self.u) - self.weighted_nominal)
        constraints = [self.u >= self.lower, self.u <= self.upper]
        if self.s is not None:
            cost = cost + 0.5 * cp.sum_squares(self.sqrt_slack_weight * self.s)
            constraints.append(self.s >= 0)
        if self.F is not None:
            constraints += [self.F @ self.u >= self.F_lower, self.F @ self.u <= self.F_upper]
        if self.G is not None:
            lhs = self.G @ self.u
            if self.s is not None:
                lhs = lhs + builder.slack_matrix() @ self.s
            constraints.append(lhs >= self.b)
        self.problem: Any = cp.Problem(cp.Minimize(cost), constraints)

    @staticmethod
    def shape_of(builder: ConstraintBuilder) -> tuple[int, int, int, tuple[bool, ...]]:
        """What fixes the compiled problem: ``(n, k, m, soft pattern)``.

        Weights, slack weight and every row are parameters, so a ``ReferenceQP`` serves
        any builder of the same shape: assign it to :attr:`builder` before solving.
        """
        return (builder.n, builder.num_force_rows, builder.num_barrier_rows, tuple(builder.soft))

    def solve(
        self,
        u_nominal: FloatArray,
        state: Mapping[str, Any] | None,
        u_prev: FloatArray,
        dt: float,
        gains: FloatArray | None = None,
    ) -> tuple[FloatArray | None, str]:
        """Solve one tick; return ``(u, status)`` with ``u`` ``None`` unless optimal.

        Args:
            u_nominal: (n,) finite nominal command.
            state: the state mapping (or ``None`` if the config needs none).
            u_prev: (n,) previous command.
            dt: seconds since ``u_prev``.
            gains: flat class-K gains (default: config).
        """
        builder = self.builder
        bounds = builder.window(u_prev, dt)
        self.weights.value = builder.weights
        self.weighted_nominal.value = builder.weights * np.asarray(u_nominal, dtype=np.float64)
        self.sqrt_slack_weight.value = np.sqrt(builder.slack_weight)
        self.lower.value = bounds.lower
        self.upper.value = bounds.upper
        if self.F is not None:
            force = builder.force_rows(state)
            self.F.value = force.F
            self.F_lower.value = force.lower
            self.F_upper.value = force.upper
        if self.G is not None:
            G, b = builder.barrier_rows({} if state is None else state, gains)
            self.G.value = G
            self.b.value = b
        status = self._solve(self.solver, self.options)
        if self.solver == "HIGHS" and status not in ("optimal", "infeasible"):
            # HiGHS refuses some degenerate inputs (e.g. every variable fixed by its
            # bounds) or hits its time limit; the interior-point method is accurate there.
            tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
            status = self._solve("CLARABEL", tight)
        if status != "optimal" or self.u.value is None:
            return None, status
        return np.asarray(self.u.value, dtype=np.float64), status

    def _solve(self, solver: str, options: Mapping[str, Any]) -> str:
        """Solve with ``solver``; return cvxpy's status, or ``solver_error: ...``."""
        cp: Any = importlib.import_module("cvxpy")
        if solver == "HIGHS":
            # No warm start: cvxpy would seed HiGHS with the previous tick's solution,
            # which can send its QP method cycling for minutes on the next problem. The
            # time limit guards against other stalls.
            options = {**options, "warm_start": False, "time_limit": HIGHS_TIME_LIMIT_S}
        try:
            self.problem.solve(solver=solver, **options)
        except cp.error.SolverError as err:
            return f"solver_error: {err}"
        return str(self.problem.status)
