"""The batched differentiable QP: exactness, cvxpy/cvxpylayers parity, gradcheck, errors."""

from __future__ import annotations

import os

import cvxpy as cp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.benchmarks.barriernet import cvxpylayers_solver
from liquid_controller.models import qp_layer
from liquid_controller.models.qp_layer import QPSolveError, solve_qp

# Few examples every day; 50x under HYPOTHESIS_PROFILE=stress (see test/conftest.py).
SCALE = 50 if os.environ.get("HYPOTHESIS_PROFILE") == "stress" else 1


def random_qp(
    seed: int, batch: int, n: int, m: int, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, ...]:
    """Random feasible QPs: G u <= h holds at u = 0 since h > 0."""
    gen = torch.Generator().manual_seed(seed)
    L = torch.randn(batch, n, n, generator=gen, dtype=dtype)
    Q = L @ L.transpose(-1, -2) + 0.5 * torch.eye(n, dtype=dtype)
    q = 3.0 * torch.randn(batch, n, generator=gen, dtype=dtype)
    G = torch.randn(batch, m, n, generator=gen, dtype=dtype)
    h = torch.rand(batch, m, generator=gen, dtype=dtype) + 0.05
    return Q, q, G, h


def cvxpy_solve(Q: np.ndarray, q: np.ndarray, G: np.ndarray, h: np.ndarray) -> np.ndarray:
    u = cp.Variable(q.shape[0])
    objective = 0.5 * cp.quad_form(u, cp.psd_wrap(Q)) + q @ u
    problem = cp.Problem(cp.Minimize(objective), [G @ u <= h])
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert problem.status == cp.OPTIMAL
    return np.asarray(u.value)


@pytest.mark.parametrize(("n", "m"), [(1, 2), (2, 4), (6, 14), (12, 30)])
def test_forward_matches_cvxpy(n: int, m: int) -> None:
    Q, q, G, h = random_qp(seed=n * 100 + m, batch=6, n=n, m=m)
    u = solve_qp(Q, q, G, h).u
    for b in range(Q.shape[0]):
        ref = cvxpy_solve(Q[b].numpy(), q[b].numpy(), G[b].numpy(), h[b].numpy())
        np.testing.assert_allclose(u[b].numpy(), ref, atol=1e-6)


def test_single_row_matches_closed_form_projection() -> None:
    # Q = I: the solution is the Euclidean projection of -q onto the half-space g.u <= h.
    gen = torch.Generator().manual_seed(3)
    batch, n = 32, 3
    u0 = torch.randn(batch, n, generator=gen, dtype=torch.float64)
    g = torch.randn(batch, n, generator=gen, dtype=torch.float64)
    h = torch.randn(batch, generator=gen, dtype=torch.float64)
    Q = torch.eye(n, dtype=torch.float64).expand(batch, n, n)
    u = solve_qp(Q, -u0, g.unsqueeze(1), h.unsqueeze(1)).u
    excess = ((g * u0).sum(-1) - h).clamp(min=0.0)
    expected = u0 - (excess / (g * g).sum(-1)).unsqueeze(-1) * g
    torch.testing.assert_close(u, expected, atol=1e-12, rtol=0.0)


@settings(max_examples=50 * SCALE)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 12),
    m=st.integers(0, 30),
    q_scale=st.floats(1e-3, 1e3),
)
def test_solution_satisfies_kkt_conditions(seed: int, n: int, m: int, q_scale: float) -> None:
    Q, q, G, h = random_qp(seed, batch=4, n=n, m=m)
    assert_kkt(Q, q_scale * q, G, h, solve_qp(Q, q_scale * q, G, h), scale=1.0 + q_scale)


def assert_kkt(
    Q: torch.Tensor,
    q: torch.Tensor,
    G: torch.Tensor,
    h: torch.Tensor,
    sol: qp_layer.QPSolution,
    scale: float,
) -> None:
    u, lam = sol.u, sol.multipliers
    slack = h - (G @ u.unsqueeze(-1)).squeeze(-1)
    assert bool((slack >= -1e-9 * scale).all()), "primal infeasible"
    assert bool((lam >= 0.0).all()), "negative multiplier"
    assert bool(((lam * slack).abs() <= 1e-9 * scale**2).all()), "not complementary"
    stationarity = Q @ u.unsqueeze(-1) + q.unsqueeze(-1)
    stationarity = stationarity + G.transpose(-1, -2) @ lam.unsqueeze(-1)
    assert float(stationarity.abs().max()) <= 1e-9 * scale
    assert torch.equal(sol.active, lam > 0.0)


@settings(max_examples=50 * SCALE)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 6),
    m=st.integers(0, 12),
    widths=st.lists(st.sampled_from([0.0, 1e-12, 1e-6, 0.1]), min_size=1, max_size=4),
    unit_rows=st.booleans(),
    repeat=st.booleans(),
    q_scale=st.floats(1e-3, 1e3),
)
def test_bands_of_opposite_rows_satisfy_kkt_conditions(
    seed: int,
    n: int,
    m: int,
    widths: list[float],
    unit_rows: bool,
    repeat: bool,
    q_scale: float,
) -> None:
    # Bands g u <= a, -g u <= -c around u = 0 (zero width: an equality) along orthogonal
    # directions (well conditioned), in any row order, one of them repeated (then not
    # paired) or not, beside random rows.
    Q, q, G, h = random_qp(seed, batch=4, n=n, m=m)
    gen = torch.Generator().manual_seed(seed + 1)
    k = min(len(widths), n)
    directions = torch.eye(n, dtype=torch.float64).expand(4, n, n)
    if not unit_rows:
        directions = torch.linalg.qr(torch.randn(4, n, n, generator=gen, dtype=torch.float64))[0]
    size = 10.0 ** (4.0 * torch.rand(4, k, 1, generator=gen, dtype=torch.float64) - 2.0)
    g = size * directions[:, :k]
    width = torch.tensor(widths[:k], dtype=torch.float64)
    upper = width * torch.rand(4, k, generator=gen, dtype=torch.float64)
    rows = [G, g, -g] + ([g[:, :1]] if repeat else [])
    bounds = [h, upper, width - upper] + ([upper[:, :1]] if repeat else [])
    order = torch.randperm(m + 2 * k + repeat, generator=gen)
    G, h = torch.cat(rows, 1)[:, order], torch.cat(bounds, 1)[:, order]
    assert_kkt(Q, q_scale * q, G, h, solve_qp(Q, q_scale * q, G, h), scale=1.0 + q_scale)


@pytest.mark.parametrize(
    ("G", "h", "expected"),
    [
        ([[-1.0], [-1e-6]], [-1.0, -1e-6], 1.0),  # u >= 1 twice, once scaled by 1e-6
        ([[1e-6], [-1e-6]], [1e-6, -1e-6], 1.0),  # a tiny equality band: u = 1
        ([[-1.0], [-1e-7]], [-1.0, -1.0000001e-7], 1.0000001),  # the tiny row binds
    ],
)
def test_tiny_rows_are_enforced_and_not_misread_as_infeasible(
    G: list, h: list, expected: float
) -> None:
    # min u^2 / 2 under the rows. Unscaled, daqp reports the first as infeasible and
    # ignores the second's violation.
    Q, q = torch.ones(1, 1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64)
    G_t, h_t = torch.tensor([G], dtype=torch.float64), torch.tensor([h], dtype=torch.float64)
    u = solve_qp(Q, q, G_t, h_t).u
    torch.testing.assert_close(
        u, torch.tensor([[expected]], dtype=torch.float64), atol=1e-12, rtol=0
    )


def test_zero_width_band_of_opposite_rows_is_not_misread_as_infeasible() -> None:
    # u0 <= 0.4 and -u0 <= -0.4 (a box cut by a rate window with dt = 0) beside slack rows
    # s >= G u - b weighted 1e4: the BarrierNet QP, shrunk. Given the two rows as they are,
    # daqp reports this feasible problem infeasible; as one row 0.4 <= u0 <= 0.4 it solves.
    Q = torch.diag(torch.tensor([1.0, 4.0, 1e4, 1e4], dtype=torch.float64)).unsqueeze(0)
    q = torch.tensor([[5.0, 11.0, 0.0, 0.0]], dtype=torch.float64)
    G = torch.tensor(
        [[[1.0, 0, 0, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [-10, -10, 0, 0], [20, 0, -1, 0],
          [0, 10, 0, -1]]],
        dtype=torch.float64,
    )  # fmt: skip
    h = torch.tensor([[0.4, -0.4, -0.08, 12.0, -3.8, -20.3]], dtype=torch.float64)
    sol = solve_qp(Q, q, G, h)
    # u0 held; u1 at its bound (the cost rises above it); each slack at its row.
    expected = torch.tensor([[0.4, 0.08, 11.8, 21.1]], dtype=torch.float64)
    torch.testing.assert_close(sol.u, expected, atol=1e-12, rtol=0)
    # One side of the band carries the multiplier (q0 > 0 pushes u0 down onto u0 >= 0.4).
    assert sol.active[0].tolist() == [False, True, True, False, True, True]


def test_a_wrong_working_set_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    Q, q, G, h = random_qp(seed=12, batch=3, n=2, m=4)
    monkeypatch.setattr(qp_layer, "_active_sets", lambda *a: np.zeros((3, 4), dtype=bool))
    unconstrained = torch.linalg.solve(Q, -q.unsqueeze(-1)).squeeze(-1)
    violated = ((G @ unconstrained.unsqueeze(-1)).squeeze(-1) > h).any(-1)
    assert bool(violated.any())
    with pytest.raises(QPSolveError, match="working set fails the KKT check") as info:
        solve_qp(Q, q, G, h)
    assert info.value.samples == torch.nonzero(violated).flatten().tolist()


def test_gradcheck_float64() -> None:
    Q, q, G, h = random_qp(seed=11, batch=3, n=3, m=6)
    inputs = tuple(t.clone().requires_grad_() for t in (Q, q, G, h))
    assert bool(solve_qp(*inputs).active.any()), "the check should cover active rows"
    assert torch.autograd.gradcheck(lambda *a: tuple(solve_qp(*a)[:2]), inputs)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # diffcp's numpy-2 copy warnings
def test_gradients_match_cvxpylayers() -> None:
    n, m, batch = 3, 5, 4
    Q, q, G, h = random_qp(seed=5, batch=batch, n=n, m=m)
    reference = cvxpylayers_solver(n, m, solver_args={"eps": 1e-10})
    weights = torch.randn(batch, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def grads(solve: object) -> tuple[torch.Tensor, list[torch.Tensor]]:
        leaves = [t.clone().requires_grad_() for t in (Q, q, G, h)]
        u = solve(*leaves)  # type: ignore[operator]
        (weights * u).sum().backward()
        return u.detach(), [t.grad for t in leaves]

    u_ours, g_ours = grads(lambda *args: solve_qp(*args).u)
    u_ref, g_ref = grads(reference)
    torch.testing.assert_close(u_ours, u_ref, atol=1e-5, rtol=0.0)
    for name, ours, ref in zip(("Q", "q", "G", "h"), g_ours, g_ref, strict=True):
        torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-3, msg=f"gradient of {name}")


def test_float32_inputs_give_float32_solutions() -> None:
    Q, q, G, h = random_qp(seed=2, batch=8, n=4, m=6)
    sol64 = solve_qp(Q, q, G, h)
    sol32 = solve_qp(*(t.float() for t in (Q, q, G, h)))
    assert sol32.u.dtype == torch.float32
    torch.testing.assert_close(sol32.u.double(), sol64.u, atol=1e-4, rtol=0.0)


def test_infeasible_samples_are_named() -> None:
    Q, q, G, h = random_qp(seed=4, batch=5, n=1, m=2)
    G[3] = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    h[3] = torch.tensor([-1.0, -1.0], dtype=torch.float64)  # u <= -1 and u >= 1
    with pytest.raises(QPSolveError, match=r"samples \{3: infeasible\}") as info:
        solve_qp(Q, q, G, h)
    assert info.value.samples == [3]


def test_indefinite_cost_is_rejected() -> None:
    Q, q, G, h = random_qp(seed=6, batch=2, n=2, m=3)
    Q[1] = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))
    with pytest.raises(QPSolveError, match="1: nonconvex"):
        solve_qp(Q, q, G, h)


@pytest.mark.parametrize(
    ("field", "bad", "match"),
    [
        ("q", torch.zeros(3, 4, dtype=torch.float64), r"'q' has shape \(3, 4\).*n = 2"),
        (
            "G",
            torch.zeros(2, 3, dtype=torch.float64),
            r"'G' has shape \(2, 3\); expected \(B, m, n\)",
        ),
        ("h", torch.full((3, 5), float("nan"), dtype=torch.float64), "'h' has non-finite"),
        ("h", torch.zeros(3, 5, dtype=torch.float32), "'h' is torch.float32"),
        ("Q", np.eye(2), "'Q' is ndarray; expected a float tensor"),
    ],
)
def test_bad_inputs_name_the_argument(field: str, bad: object, match: str) -> None:
    args = dict(zip(("Q", "q", "G", "h"), random_qp(seed=0, batch=3, n=2, m=5), strict=True))
    args[field] = bad  # type: ignore[assignment]
    with pytest.raises(ValueError, match=match):
        solve_qp(**args)  # type: ignore[arg-type]
