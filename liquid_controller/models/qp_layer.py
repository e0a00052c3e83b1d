r"""A batched, exact, differentiable solver for small dense QPs.

Each sample ``b`` of the batch solves

.. math::

    u_b^\star = \arg\min_u \tfrac12 u^\top Q_b u + q_b^\top u
    \quad \text{s.t.} \quad G_b u \le h_b ,

with ``Q_b`` symmetric positive definite (only its symmetric part is used),
``n`` up to about 12 variables and ``m`` up to a few dozen rows.

Forward: every sample is solved by daqp (a dual active-set method, the same
solver the runtime safety filter uses), which returns the optimal working set
``A`` (the rows with a nonzero multiplier). The KKT system of that working set

.. math::

    \begin{bmatrix} Q & G^\top D \\ D G & -(I - D) \end{bmatrix}
    \begin{bmatrix} u \\ \lambda \end{bmatrix}
    = \begin{bmatrix} -q \\ D h \end{bmatrix},
    \qquad D = \operatorname{diag}(\mathbb 1[i \in A]),

is then solved for the whole batch in torch (one batched LU): this polishes
``u`` to machine precision in the caller's dtype and device, and its LU is
kept for the backward pass. The system is symmetric, so the backward pass is
one more solve with the same factors (implicit function theorem on the
active set, as in OptNet, Amos & Kolter 2017): with
``K w = [∂L/∂u; ∂L/∂λ]``,

.. math::

    \frac{\partial L}{\partial q} = -w_u, \quad
    \frac{\partial L}{\partial h} = D w_\lambda, \quad
    \frac{\partial L}{\partial Q} = -\tfrac12 (w_u u^\top + u w_u^\top), \quad
    \frac{\partial L}{\partial G} = -(\lambda w_u^\top + D w_\lambda u^\top).

The gradient is exact wherever the active set is locally constant (strict
complementarity), which is almost everywhere.

daqp runs on the CPU in float64 (the inputs are copied there); the KKT solves run in the
inputs' dtype on their device, so CUDA tensors work and stay on the GPU.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import daqp
import numpy as np
import torch

from liquid_controller.errors import LiquidControllerError

__all__ = ["QPSolution", "QPSolveError", "check_batch_tensor", "solve_qp"]

# daqp's exit flags (https://darnstrom.github.io/daqp/parameters), for error messages.
_DAQP_EXITFLAGS = {
    1: "optimal",
    2: "soft optimal",
    -1: "infeasible",
    -2: "cycling",
    -3: "unbounded",
    -4: "iteration limit",
    -5: "nonconvex (Q not positive definite)",
    -6: "initial working set overdetermined",
}


class QPSolveError(LiquidControllerError, RuntimeError):
    """Some samples of a batched QP have no solution (infeasible, or ``Q`` not positive definite).

    Attributes:
        samples: batch indices of the failed samples.
        reasons: daqp's verdict for each of them, e.g. ``"infeasible"``.
    """

    def __init__(self, samples: list[int], reasons: list[str]) -> None:
        self.samples = samples
        self.reasons = reasons
        shown = ", ".join(f"{b}: {r}" for b, r in zip(samples[:8], reasons[:8], strict=True))
        more = "" if len(samples) <= 8 else f" (and {len(samples) - 8} more)"
        super().__init__(f"QP has no solution for batch samples {{{shown}}}{more}")


class QPSolution(NamedTuple):
    """The solution of a batch of QPs; ``u`` and ``multipliers`` are differentiable."""

    u: torch.Tensor
    """Minimisers, shape ``(B, n)``."""
    multipliers: torch.Tensor
    """Lagrange multipliers ``λ >= 0`` of ``G u <= h``, shape ``(B, m)``; 0 on inactive rows."""
    active: torch.Tensor
    """Boolean ``(B, m)``: the rows in the optimal working set (``G_i u = h_i``, ``λ_i > 0``)."""


#: daqp's primal feasibility tolerance, on rows scaled to unit norm (the runtime filter's).
PRIMAL_TOL = 1e-10


def _unconstrained_optimal(
    Q: np.ndarray, q: np.ndarray, G: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """Return the ``(B,)`` samples whose unconstrained minimiser already satisfies every row.

    There the empty working set is optimal, exactly, and daqp is not needed: the common
    case of a safety layer, where most nominal commands are already safe. Samples whose
    ``Q`` is not positive definite are never in it (daqp then reports them).
    """
    L, info = torch.linalg.cholesky_ex(torch.from_numpy(Q))
    u = -torch.cholesky_solve(torch.from_numpy(q).unsqueeze(-1), L).squeeze(-1).numpy()
    feasible = np.all(np.einsum("bmn,bn->bm", G, u) <= h, axis=-1)
    optimal: np.ndarray = feasible & (info.numpy() == 0) & np.all(np.isfinite(u), axis=-1)
    return optimal


def _opposite_rows(G: np.ndarray) -> np.ndarray:
    """Return ``(B, m)``: for each row of ``G`` (``(B, m, n)``), the row that is its exact negative.

    ``-1`` where there is none, and where the pairing is not one to one (a row repeated
    beside its negative); zero rows never pair. Candidates are found by angle, one batched
    product, then confirmed exactly.
    """
    batch, m, _ = G.shape
    norm = np.sqrt(np.einsum("bmn,bmn->bm", G, G))
    cosine_bound = -(1.0 - 1e-6) * norm[:, :, None] * norm[:, None, :]
    b, i, j = np.nonzero(G @ G.transpose(0, 2, 1) < cosine_bound)
    exact = np.all(G[b, i] == -G[b, j], axis=-1)
    b, i, j = b[exact], i[exact], j[exact]
    negatives = np.bincount(b * m + i, minlength=batch * m).reshape(batch, m)
    one_to_one = (negatives[b, i] == 1) & (negatives[b, j] == 1)
    partner = np.full((batch, m), -1)
    partner[b[one_to_one], i[one_to_one]] = j[one_to_one]
    return partner


def _active_sets(Q: np.ndarray, q: np.ndarray, G: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Return the boolean ``(B, m)`` optimal working sets (daqp where the rows bind).

    Each row and its bound are first multiplied by the power of two that brings the row's
    2-norm into [0.5, 1): exact in floating point, so the feasible set is unchanged, while
    daqp's absolute tolerances then mean the same thing on every row (unscaled, it reports
    ``1e-6 u >= 1e-6`` beside ``u >= 1`` as infeasible, and ignores ``1e-6 u <= 1e-6``
    violations below its tolerance).

    A pair of opposite rows ``g u <= a``, ``-g u <= -c`` goes to daqp as one two-sided row
    ``c <= g u <= a`` (the second row left void), as the runtime filter poses its bounds:
    given the two linearly dependent rows of a narrow or zero-width band (a box cut by a
    rate window with ``dt = 0``), daqp can call a feasible problem infeasible. The sign of
    the row's multiplier says which side binds. Crossed bounds (``c > a`` beyond daqp's
    tolerance), which daqp does not notice, are reported infeasible here.
    """
    batch, m = h.shape
    active = np.zeros((batch, m), dtype=bool)
    if m == 0:
        return active
    _, exponent = np.frexp(np.linalg.norm(G, axis=-1))
    scale = np.ldexp(1.0, -exponent)
    G_scaled, h_scaled = G * scale[..., None], h * scale
    todo = np.flatnonzero(~_unconstrained_optimal(Q, q, G, h))
    partner = _opposite_rows(G_scaled[todo])
    first = partner > np.arange(m)  # the row that carries its pair
    upper = np.where((partner >= 0) & ~first, np.inf, h_scaled[todo])
    opposite_bound = -np.take_along_axis(h_scaled[todo], np.maximum(partner, 0), axis=-1)
    lower = np.where(first, opposite_bound, -np.inf)
    crossed = np.any(lower > upper + PRIMAL_TOL, axis=-1)
    lower = np.minimum(lower, upper)
    failed: list[int] = []
    reasons: list[str] = []
    for k, b in enumerate(todo.tolist()):
        if crossed[k]:
            failed.append(b)
            reasons.append("infeasible")
            continue
        _, _, exitflag, info = daqp.solve(
            Q[b], q[b], G_scaled[b], upper[k], lower[k], primal_tol=PRIMAL_TOL
        )
        if exitflag < 1:
            failed.append(b)
            reasons.append(_DAQP_EXITFLAGS.get(exitflag, f"daqp exit flag {exitflag}"))
            continue
        lam = info["lam"]
        active[b] = lam > 0.0
        active[b, partner[k, first[k] & (lam < 0.0)]] = True
    if failed:
        raise QPSolveError(failed, reasons)
    return active


def _check_kkt(G: torch.Tensor, h: torch.Tensor, u: torch.Tensor, lam: torch.Tensor) -> None:
    """Raise :class:`QPSolveError` for samples whose polished ``(u, λ)`` is not optimal.

    The tolerance is ``sqrt(eps)`` of the dtype relative to the row's magnitude; a failure
    means the working set was wrong for the polished system (not seen in the tests).
    """
    if h.shape[-1] == 0:
        return
    tol = float(torch.finfo(u.dtype).eps) ** 0.5
    Gu = (G @ u.unsqueeze(-1)).squeeze(-1)
    size = 1.0 + h.abs() + (G.abs() @ u.abs().unsqueeze(-1)).squeeze(-1)
    primal = ((Gu - h) / size).amax(dim=-1)
    dual = (-lam / (1.0 + lam.abs())).amax(dim=-1)
    bad = torch.nonzero((primal > tol) | (dual > tol)).flatten().tolist()
    if bad:
        raise QPSolveError(
            bad,
            [
                f"working set fails the KKT check (primal {float(primal[b]):.1e}, "
                f"dual {float(dual[b]):.1e} > {tol:.1e})"
                for b in bad
            ],
        )


def _kkt_matrix(Q: torch.Tensor, G: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Assemble the symmetric working-set KKT matrix ``[[Q, GᵀD], [DG, -(I-D)]]``."""
    DG = G * mask.unsqueeze(-1)
    top = torch.cat((Q, DG.transpose(-1, -2)), dim=-1)
    bottom = torch.cat((DG, torch.diag_embed(mask - 1.0)), dim=-1)
    return torch.cat((top, bottom), dim=-2)


class _BatchQPFunction(torch.autograd.Function):
    """``(Q, q, G, h) -> (u, λ)`` with the active-set KKT backward described in the module."""

    @staticmethod
    def forward(
        ctx: Any, Q: torch.Tensor, q: torch.Tensor, G: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n = Q.shape[-1]
        Q_sym = 0.5 * (Q + Q.transpose(-1, -2))
        as_numpy = [t.detach().to("cpu", torch.float64).numpy() for t in (Q_sym, q, G, h)]
        active_np = _active_sets(*as_numpy)
        active = torch.from_numpy(active_np).to(q.device)
        mask = active.to(q.dtype)
        lu, pivots = torch.linalg.lu_factor(_kkt_matrix(Q_sym, G, mask))
        rhs = torch.cat((-q, h * mask), dim=-1).unsqueeze(-1)
        z = torch.linalg.lu_solve(lu, pivots, rhs).squeeze(-1)
        u, lam = z[:, :n], z[:, n:] * mask
        _check_kkt(G, h, u, lam)
        ctx.save_for_backward(lu, pivots, mask, u, lam)
        ctx.mark_non_differentiable(active)
        return u, lam, active

    @staticmethod
    def backward(
        ctx: Any, grad_u: torch.Tensor, grad_lam: torch.Tensor, _grad_active: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        lu, pivots, mask, u, lam = ctx.saved_tensors
        n = u.shape[-1]
        rhs = torch.cat((grad_u, grad_lam * mask), dim=-1).unsqueeze(-1)
        w = torch.linalg.lu_solve(lu, pivots, rhs).squeeze(-1)
        w_u, w_lam = w[:, :n], w[:, n:] * mask
        outer = w_u.unsqueeze(-1) * u.unsqueeze(-2)
        grad_Q = -0.5 * (outer + outer.transpose(-1, -2))
        grad_q = -w_u
        grad_G = -(lam.unsqueeze(-1) * w_u.unsqueeze(-2) + w_lam.unsqueeze(-1) * u.unsqueeze(-2))
        grad_h = w_lam
        return grad_Q, grad_q, grad_G, grad_h


def check_batch_tensor(
    where: str, name: str, t: object, shape: tuple[str, ...], dims: dict[str, int]
) -> torch.Tensor:
    """Check that ``t`` is a finite float tensor of the symbolic ``shape``; return it.

    Args:
        where: the caller, for the message (``"solve_qp"``).
        name: the argument's name.
        t: the value to check.
        shape: one symbol per dimension, e.g. ``("B", "n")``.
        dims: sizes already bound to symbols; new symbols are bound here.

    Raises:
        ValueError: naming the argument, what it is and what was expected.
    """
    expected = "(" + ", ".join(shape) + ")"
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise ValueError(f"{where}: '{name}' is {type(t).__name__}; expected a float tensor")
    if t.dim() != len(shape):
        raise ValueError(f"{where}: '{name}' has shape {tuple(t.shape)}; expected {expected}")
    for size, symbol in zip(t.shape, shape, strict=True):
        if dims.setdefault(symbol, size) != size:
            raise ValueError(
                f"{where}: '{name}' has shape {tuple(t.shape)}; expected {expected} with "
                f"{symbol} = {dims[symbol]} as in the arguments before it"
            )
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{where}: '{name}' has non-finite entries; expected finite values")
    return t


def solve_qp(Q: torch.Tensor, q: torch.Tensor, G: torch.Tensor, h: torch.Tensor) -> QPSolution:
    r"""Solve ``min ½uᵀQu + qᵀu s.t. Gu <= h`` for a batch, differentiably in all four inputs.

    Args:
        Q: ``(B, n, n)`` positive definite cost matrices (only the symmetric part is used).
        q: ``(B, n)`` linear costs.
        G: ``(B, m, n)`` constraint matrices.
        h: ``(B, m)`` constraint bounds.

    Returns:
        The minimisers, multipliers and optimal working sets. Gradients flow from
        ``u`` and ``multipliers`` to all four inputs.

    Raises:
        ValueError: an input is not a finite float tensor of the shape above, or the
            inputs disagree on ``B``, ``n`` or ``m``, dtype or device.
        QPSolveError: a sample is infeasible or its ``Q`` is not positive definite.
    """
    dims: dict[str, int] = {}
    check_batch_tensor("solve_qp", "Q", Q, ("B", "n", "n"), dims)
    check_batch_tensor("solve_qp", "q", q, ("B", "n"), dims)
    check_batch_tensor("solve_qp", "G", G, ("B", "m", "n"), dims)
    check_batch_tensor("solve_qp", "h", h, ("B", "m"), dims)
    for name, t in (("q", q), ("G", G), ("h", h)):
        if t.dtype != Q.dtype or t.device != Q.device:
            raise ValueError(
                f"solve_qp: '{name}' is {t.dtype} on {t.device}; expected {Q.dtype} on "
                f"{Q.device} like 'Q'"
            )
    u, lam, active = _BatchQPFunction.apply(Q, q, G, h)  # type: ignore[no-untyped-call]
    return QPSolution(u, lam, active)
