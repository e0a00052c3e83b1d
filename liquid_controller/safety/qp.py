r"""A small QP interface: problem object, solution object, one :func:`solve`.

The problem, in the form DAQP takes natively (variable bounds first, then general rows):

.. math::

    \min_x \tfrac12 x^\top H x + f^\top x \quad \text{s.t.} \quad
    \ell_{1:n_x} \le x \le u_{1:n_x}, \qquad
    \ell_{n_x+1:} \le A x \le u_{n_x+1:}

with :math:`H` symmetric positive definite and :math:`\pm\infty` allowed in the bounds.
Backends are registered only if their import succeeds (qpsolvers style); solver failure is
a value (:attr:`QPSolution.found` is ``False``), never an exception.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError

__all__ = [
    "DaqpWorkspace",
    "row_scale",
    "QPProblem",
    "QPSolution",
    "QPStatus",
    "available_solvers",
    "solve",
    "solve_without_fixed",
]

FloatArray = npt.NDArray[np.float64]

#: DAQP's primal feasibility tolerance on the (row-scaled) problem. The filter checks the
#: hard rows to 1e-9 after every solve; tighter than 1e-10 makes DAQP report degenerate
#: feasible problems infeasible.
PRIMAL_TOL = 1e-10


def row_scale(A: FloatArray) -> FloatArray:
    """Return a power of two per row of ``A`` that brings its 2-norm into [0.5, 1).

    Multiplying a row and its bounds by a power of two is exact in floating point, so the
    scaled row accepts exactly the points the original does, while the solver sees
    well-scaled rows (DAQP reports a row like ``1e-6 u <= -1e-6`` that is parallel to an
    active bound as infeasible). Zero rows get 1.
    """
    _, exponent = np.frexp(np.sqrt(np.einsum("ij,ij->i", A, A)))
    scale: FloatArray = np.ldexp(1.0, -exponent)
    return scale


def solve_without_fixed(problem: QPProblem, solver: str) -> QPSolution:
    """Solve ``problem`` with the variables fixed by equal bounds substituted out.

    Active-set solvers can misread a degenerate set as infeasible when a variable is fixed
    (``lower == upper``, e.g. a rate window collapsed by ``dt = 0``) and a row is nearly
    parallel to its bound; the reduced problem (rows rescaled by :func:`row_scale`) has
    neither. Same result otherwise.
    """
    nx = problem.size
    lower, upper = problem.lower[:nx], problem.upper[:nx]
    fixed = lower == upper
    if not fixed.any():
        return solve(problem, solver)
    free = ~fixed
    x_fixed = lower[fixed]
    shift = problem.A[:, fixed] @ x_fixed
    H_free = problem.H[np.ix_(free, free)]
    if not free.any():
        x = lower.copy()
        ok = problem.violation(x) <= PRIMAL_TOL * 10
        status = QPStatus.OPTIMAL if ok else QPStatus.INFEASIBLE
        return QPSolution(x, ok, status, None, problem.violation(x), 0, solver)
    A_free = problem.A[:, free]
    scale = row_scale(A_free)  # dropping columns changes the row norms: rescale (exactly)
    reduced = QPProblem(
        H=H_free,
        f=problem.f[free] + problem.H[np.ix_(free, fixed)] @ x_fixed,
        A=np.ascontiguousarray(A_free * scale[:, None]),
        lower=np.concatenate((lower[free], (problem.lower[nx:] - shift) * scale)),
        upper=np.concatenate((upper[free], (problem.upper[nx:] - shift) * scale)),
    )
    solution = solve(reduced, solver)
    x = lower.copy()
    x[free] = solution.x
    return QPSolution(
        x=x,
        found=solution.found,
        status=solution.status,
        duals=None,
        primal_residual=problem.violation(x) if solution.found else float("inf"),
        iterations=solution.iterations,
        solver=solution.solver,
    )


class QPStatus(enum.Enum):
    """How a solve ended."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    ERROR = "error"
    """Iteration limit, numerical trouble or a backend exception."""


@dataclass
class QPProblem:
    """One QP instance (see the module docstring for the form).

    Attributes:
        H: (n_x, n_x) cost matrix, symmetric positive definite.
        f: (n_x,) linear cost.
        A: (m, n_x) general constraint rows (m may be 0).
        lower: (n_x + m,) lower bounds: variables first, then rows; may be ``-inf``.
        upper: (n_x + m,) upper bounds: variables first, then rows; may be ``+inf``.
    """

    H: FloatArray
    f: FloatArray
    A: FloatArray
    lower: FloatArray
    upper: FloatArray

    @property
    def size(self) -> int:
        """Number of variables ``n_x``."""
        return int(self.f.shape[0])

    def violation(self, x: FloatArray) -> float:
        """Return the largest bound or row violation at ``x`` (0 when feasible)."""
        if not np.all(np.isfinite(x)):
            return float("inf")
        values = np.concatenate((x, self.A @ x))
        if not np.all(np.isfinite(values)):
            return float("inf")
        excess = np.maximum(values - self.upper, self.lower - values)
        return float(max(0.0, np.max(excess)))


@dataclass
class QPSolution:
    """What a backend returned.

    Attributes:
        x: the primal solution (NaN-filled when not found).
        found: True when the backend reports an optimum (check ``status`` otherwise).
        status: :class:`QPStatus`.
        duals: multipliers for ``lower``/``upper`` entries (backend sign convention:
            DAQP's, negative on an active lower bound), or ``None``.
        primal_residual: :meth:`QPProblem.violation` at ``x`` (inf when not found).
        iterations: backend iterations (0 if unknown).
        solver: backend name.
    """

    x: FloatArray
    found: bool
    status: QPStatus
    duals: FloatArray | None
    primal_residual: float
    iterations: int
    solver: str


Backend = Callable[[QPProblem], QPSolution]
_BACKENDS: dict[str, Backend] = {}


def available_solvers() -> tuple[str, ...]:
    """Names of the backends whose import succeeded, default first."""
    return tuple(_BACKENDS)


def _failed(problem: QPProblem, status: QPStatus, solver: str) -> QPSolution:
    return QPSolution(
        x=np.full(problem.size, np.nan),
        found=False,
        status=status,
        duals=None,
        primal_residual=float("inf"),
        iterations=0,
        solver=solver,
    )


def solve(problem: QPProblem, solver: str = "daqp") -> QPSolution:
    """Solve ``problem`` with the named backend.

    Args:
        problem: the QP.
        solver: one of :func:`available_solvers`.

    Returns:
        The solution; ``found`` is False on infeasibility or backend failure.

    Raises:
        ConfigError: ``solver`` is not an available backend (a setup error, not numeric).
    """
    backend = _BACKENDS.get(solver)
    if backend is None:
        raise ConfigError("solver", solver, "one of " + ", ".join(available_solvers()))
    try:
        return backend(problem)
    except (ValueError, ArithmeticError, RuntimeError):
        return _failed(problem, QPStatus.ERROR, solver)


# ------------------------------------------------------------------------------ backends

# DAQP exit flags (https://darnstrom.github.io/daqp/parameters): 1 optimal, 2 soft optimal,
# -1 infeasible, -2 cycling, -3 unbounded, -4 iteration limit, -5 nonconvex, -6 initial
# working set overdetermined.
_DAQP_INFEASIBLE = -1

try:
    import daqp as _daqp
except ImportError:  # pragma: no cover - daqp is a core dependency
    _daqp = None

if _daqp is not None:

    def _solve_daqp(problem: QPProblem) -> QPSolution:
        nx = problem.size
        sense = np.zeros(problem.lower.shape[0], dtype=np.int32)
        x, _, flag, info = _daqp.solve(
            problem.H,
            problem.f,
            problem.A if problem.A.shape[0] else np.zeros((0, nx)),
            problem.upper,
            problem.lower,
            sense,
            primal_tol=PRIMAL_TOL,
        )
        if flag in (1, 2):
            x = np.asarray(x, dtype=np.float64)
            return QPSolution(
                x=x,
                found=True,
                status=QPStatus.OPTIMAL,
                duals=np.asarray(info["lam"], dtype=np.float64),
                primal_residual=problem.violation(x),
                iterations=int(info["iterations"]),
                solver="daqp",
            )
        status = QPStatus.INFEASIBLE if flag == _DAQP_INFEASIBLE else QPStatus.ERROR
        return _failed(problem, status, "daqp")

    _BACKENDS["daqp"] = _solve_daqp

try:
    import quadprog as _quadprog
except ImportError:
    _quadprog = None

if _quadprog is not None:

    def _solve_quadprog(problem: QPProblem) -> QPSolution:
        # quadprog: min 1/2 x'Gx - a'x  s.t.  C'x >= b (first meq equalities).
        nx = problem.size
        eye = np.eye(nx)
        blocks = [eye, -eye]
        rhs = [problem.lower[:nx], -problem.upper[:nx]]
        if problem.A.shape[0]:
            blocks += [problem.A, -problem.A]
            rhs += [problem.lower[nx:], -problem.upper[nx:]]
        C = np.vstack(blocks)
        b = np.concatenate(rhs)
        # quadprog divides by each row's norm: a zero row is either void (0 >= b) or
        # impossible, never handed over.
        zero = ~np.any(C, axis=1)
        if np.any(zero & (b > 0.0)):
            return _failed(problem, QPStatus.INFEASIBLE, "quadprog")
        keep = np.isfinite(b) & ~zero
        try:
            x, _, _, iterations, lagrangian, _ = _quadprog.solve_qp(
                problem.H, -problem.f, C[keep].T.copy(), b[keep], 0
            )
        except ValueError as err:
            status = (
                QPStatus.INFEASIBLE
                if "constraints are inconsistent" in str(err)
                else (QPStatus.ERROR)
            )
            return _failed(problem, status, "quadprog")
        x = np.asarray(x, dtype=np.float64)
        return QPSolution(
            x=x,
            found=True,
            status=QPStatus.OPTIMAL,
            duals=None,
            primal_residual=problem.violation(x),
            iterations=int(iterations[0]),
            solver="quadprog",
        )

    _BACKENDS["quadprog"] = _solve_quadprog


class DaqpWorkspace:
    """A DAQP model set up once for a fixed problem shape: the filter's hot path.

    Each :meth:`solve` updates the cost vector, the bounds and (optionally) the rows in
    the preallocated workspace and solves from a cold start (all constraint senses reset
    to inactive), so a tick never depends on the previous tick's active set.

    Args:
        problem: a problem of the shape every later solve will have.
    """

    def __init__(self, problem: QPProblem) -> None:
        if _daqp is None:  # pragma: no cover - daqp is a core dependency
            raise ConfigError("solver", "daqp", "an installed daqp (pip install daqp)")
        self._model = _daqp.Model()
        self._sense = np.zeros(problem.lower.shape[0], dtype=np.int32)
        self._model.setup(
            problem.H, problem.f, problem.A, problem.upper, problem.lower, self._sense
        )
        self._model.settings = {"primal_tol": PRIMAL_TOL}

    def solve(
        self, f: FloatArray, lower: FloatArray, upper: FloatArray, A: FloatArray | None = None
    ) -> tuple[FloatArray, QPStatus, FloatArray]:
        """Solve with new ``f``, bounds and (if given) rows.

        Returns:
            ``(x, status, duals)``: duals per bound and row, negative where a lower bound
            binds, positive where an upper bound binds, zero otherwise.
        """
        self._model.update(f=f, A=A, bupper=upper, blower=lower, sense=self._sense)
        x, _, flag, info = self._model.solve()
        if flag in (1, 2):
            return x, QPStatus.OPTIMAL, info["lam"]
        status = QPStatus.INFEASIBLE if flag == _DAQP_INFEASIBLE else QPStatus.ERROR
        return x, status, info["lam"]
