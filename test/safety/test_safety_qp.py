from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError
from liquid_controller.safety.qp import QPProblem, QPStatus, available_solvers, solve


def random_problem(seed: int, n: int, m: int) -> QPProblem:
    rng = np.random.default_rng(seed)
    H = np.diag(rng.uniform(0.5, 3.0, n))
    A = rng.standard_normal((m, n))
    centre = rng.uniform(-0.5, 0.5, n)  # a point inside every bound
    row = A @ centre
    lower = np.concatenate((np.full(n, -1.0), row - rng.uniform(0.0, 1.0, m)))
    upper = np.concatenate((np.full(n, 1.0), row + rng.uniform(0.0, 1.0, m)))
    return QPProblem(H=H, f=rng.standard_normal(n) * 3.0, A=A, lower=lower, upper=upper)


def test_both_backends_registered() -> None:
    assert available_solvers()[:2] == ("daqp", "quadprog")


@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(0, 6))
def test_daqp_and_quadprog_agree_and_are_feasible(seed: int, n: int, m: int) -> None:
    problem = random_problem(seed, n, m)
    a = solve(problem, "daqp")
    b = solve(problem, "quadprog")
    assert a.found and b.found
    assert a.primal_residual <= 1e-9 and b.primal_residual <= 1e-9
    np.testing.assert_allclose(a.x, b.x, atol=1e-8)


@pytest.mark.parametrize("solver", ["daqp", "quadprog"])
def test_infeasible_is_a_value(solver: str) -> None:
    problem = QPProblem(
        H=np.eye(2),
        f=np.zeros(2),
        A=np.array([[1.0, 1.0], [1.0, 1.0]]),
        lower=np.array([-1.0, -1.0, 1.5, -np.inf]),
        upper=np.array([1.0, 1.0, np.inf, -1.5]),
    )
    solution = solve(problem, solver)
    assert not solution.found
    assert solution.status is QPStatus.INFEASIBLE
    assert np.isnan(solution.x).all() and solution.primal_residual == np.inf


def test_unknown_solver_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'solver'"):
        solve(random_problem(0, 2, 1), "nope")


def test_violation_measures_bounds_and_rows() -> None:
    problem = random_problem(1, 2, 1)
    assert problem.violation(np.array([1.5, 0.0])) >= 0.5
    assert problem.violation(np.array([np.nan, 0.0])) == np.inf
