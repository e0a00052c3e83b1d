r"""BarrierNet: the safety filter's CBF-QP as a differentiable torch layer.

As in BarrierNet (Xiao, Wang, Hasani, Chahine, Amini, Li, Rus; T-RO 2023), a
policy outputs a nominal command *and* the class-K gains of the barriers, and
the command passes through the CBF-QP inside the network, so training sees,
and can shape, what the safety filter will do on the robot.

The QP is the runtime filter's, built from the same
:class:`~liquid_controller.safety.constraints.ConstraintBuilder` (see that module
for the formulation): over :math:`x = [u; s]`,

.. math::

    \min_{u, s} \tfrac12 \| W (u - u_{nom}) \|^2 + \tfrac12 \rho \| s \|^2
    \quad \text{s.t.} \quad \underline u \le u \le \overline u,\;
    s \ge 0,\; \ell_F \le F u \le u_F,\;
    G u + E s \ge -\mathrm{drift} - \textstyle\sum_{j<r} c_j(k)\, h^{(j)},

with :math:`c(k)` the coefficients of :math:`\prod_i (s + k_i)` for the per-sample gains
:math:`k` (from :class:`BarrierGainsHead`). Only the gains and the state enter
the bound, so ``u`` is differentiable with respect to the nominal command, the
gains, the previous command and (for the built-in joint barriers) the joint state.

Training end to end (see ``test/models/test_barriernet.py``)::

    layer = BarrierNetLayer(safety_config)
    spec = default_policy_spec(barrier_params=layer.num_gains)  # one gain per relative degree
    layer.check_policy_spec(spec)                                # same actuators, same gains
    policy = LiquidPolicy(default_policy_config(), spec)
    initialise_gains_head(policy.barrier_head, layer.default_gains, floor=MIN_BARRIER_GAIN)
    out = policy(image, imu, h, dt)                              # out.action, out.barrier
    safe = layer(out.action, state, out.barrier)                 # state: {"joint_position": ...}
    loss = task_loss(safe.u)                                     # reaches core and both heads
    loss.backward()

``LiquidPolicy``'s barrier head is ``softplus(Linear)``; :class:`BarrierGainsHead` is
the same ``Linear`` plus a floor, for policies built by hand.

A sample whose hard constraints cannot all hold raises
:class:`~liquid_controller.models.qp_layer.QPSolveError` naming it (the runtime
filter falls back to its safe command there instead; a training batch should
not contain such states, or should mark them hard=false).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from liquid_controller.errors import ConfigError, ObservationError
from liquid_controller.models.qp_layer import check_batch_tensor, solve_qp
from liquid_controller.runtime.spec import MIN_BARRIER_GAIN, PolicySpec
from liquid_controller.safety.config import SafetyConfig, parse_config
from liquid_controller.safety.constraints import ConstraintBuilder

__all__ = [
    "BarrierGainsHead",
    "BarrierNetLayer",
    "BarrierNetOutput",
    "class_k_coefficients_torch",
    "initialise_gains_head",
    "inverse_softplus",
]

_WHERE = "BarrierNetLayer"


def class_k_coefficients_torch(gains: torch.Tensor) -> torch.Tensor:
    r"""Return :math:`c_0, \dots, c_{r-1}` with :math:`\prod_i (s + k_i) = s^r + \sum_j c_j s^j`.

    The batched, differentiable twin of
    :func:`liquid_controller.safety.barriers.class_k_coefficients`.

    Args:
        gains: ``(..., r)`` linear class-K gains :math:`k_1..k_r`.

    Returns:
        ``(..., r)`` coefficients, lowest order first.
    """
    coefficients = torch.ones_like(gains[..., :1])
    zero = torch.zeros_like(coefficients)
    for i in range(gains.shape[-1]):
        k = gains[..., i : i + 1]
        # (s + k) * p(s): shift up by one degree, plus k times p.
        coefficients = torch.cat((zero, coefficients), -1) + torch.cat((k * coefficients, zero), -1)
    return coefficients[..., :-1]


def inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """Return ``x`` with ``softplus(x) = y`` for ``y > 0`` (stable for large and small ``y``)."""
    return y + torch.log(-torch.expm1(-y))


def initialise_gains_head(
    head: nn.Linear,
    gains: Sequence[float] | np.ndarray | torch.Tensor,
    *,
    floor: float = 0.0,
) -> None:
    r"""Set a ``floor + softplus(Linear)`` gains head to output ``gains`` for every input.

    Zero weights and :math:`b = \mathrm{softplus}^{-1}(k - k_{min})`: an untrained
    policy then behaves like the hand-tuned filter (the configured ``class_k``) and
    learns from there. Works on :class:`BarrierGainsHead` and on
    ``LiquidPolicy.barrier_head`` (a ``Linear`` whose output the policy passes through
    ``MIN_BARRIER_GAIN + softplus``: use ``floor=MIN_BARRIER_GAIN``).

    Args:
        head: the linear layer, ``out_features == len(gains)``.
        gains: the gains to start from, each > ``floor``.
        floor: the head's :math:`k_{min}`.

    Raises:
        ValueError: ``gains`` has the wrong length or an entry <= ``floor``.
    """
    target = torch.as_tensor(gains, dtype=torch.float64).flatten()
    if target.shape != (head.out_features,) or not bool((target > floor).all()):
        raise ValueError(
            f"initialise_gains_head: 'gains' is {target.tolist()}; expected "
            f"{head.out_features} finite numbers > floor = {floor}"
        )
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(inverse_softplus(target - floor))


class BarrierGainsHead(nn.Linear):
    r"""Positive class-K gains from features: :math:`k = k_{min} + \mathrm{softplus}(W f + b)`.

    An ``nn.Linear`` (parameters ``weight`` and ``bias``, the names of
    ``LiquidPolicy.barrier_head``) whose output goes through softplus plus a floor, so
    every gain stays strictly positive even where softplus underflows. Initialised by
    :func:`initialise_gains_head`: an untrained head outputs ``init_gains`` everywhere.

    Args:
        in_features: size of the feature vector.
        num_gains: number of gains (``BarrierNetLayer.num_gains``, the policy spec's
            ``barrier_params``).
        floor: :math:`k_{min} > 0`.
        init_gains: ``(num_gains,)`` gains at initialisation, each > ``floor``
            (default: ``1 + floor``).
    """

    def __init__(
        self,
        in_features: int,
        num_gains: int,
        *,
        floor: float = MIN_BARRIER_GAIN,
        init_gains: Sequence[float] | np.ndarray | torch.Tensor | None = None,
    ) -> None:
        if not floor > 0.0:
            raise ValueError(f"BarrierGainsHead: 'floor' is {floor!r}; expected a number > 0")
        if num_gains < 1:
            raise ValueError(f"BarrierGainsHead: 'num_gains' is {num_gains!r}; expected >= 1")
        super().__init__(in_features, num_gains)
        self.floor = float(floor)
        initialise_gains_head(
            self, [1.0 + self.floor] * num_gains if init_gains is None else init_gains,
            floor=self.floor,
        )  # fmt: skip

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map ``(B, in_features)`` features to ``(B, num_gains)`` gains, each > ``floor``."""
        return self.floor + nn.functional.softplus(super().forward(features))


class BarrierNetOutput(NamedTuple):
    """What :class:`BarrierNetLayer` returns; ``u`` and ``slack`` are differentiable."""

    u: torch.Tensor
    """``(B, n)`` safe commands."""
    slack: torch.Tensor
    """``(B, m_s)`` slack of each soft barrier row (0 where the barrier holds unrelaxed)."""
    active: torch.Tensor
    """``(B, rows)`` boolean: QP rows in the optimal working set (names: ``row_names()``)."""


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64))


class BarrierNetLayer(nn.Module):
    r"""The safety filter's QP for a batch, differentiable in nominal command, gains and state.

    Rows of the solved QP (``G x <= h`` over ``x = [u; s]``), in this order:
    upper then lower window bounds on ``u`` (``2n``), ``s >= 0`` (``m_s``), upper then
    lower force rows (``2k``), barrier rows (``m``) in the builder's order.

    Args:
        config: the validated safety config, or its YAML mapping.

    Attributes:
        builder: the runtime's :class:`ConstraintBuilder` for this config.
    """

    # Constant tensors from the config, registered as (non-persistent) buffers so they
    # follow the module across devices.
    _effort_min: torch.Tensor
    _effort_max: torch.Tensor
    _rate_max: torch.Tensor
    _cost: torch.Tensor
    _slack_matrix: torch.Tensor
    _row_barrier: torch.Tensor
    _default_gains: torch.Tensor
    _joint_G: torch.Tensor
    _joint_H0: torch.Tensor
    _joint_h0_offset: torch.Tensor
    _joint_H1: torch.Tensor
    _joint_D: torch.Tensor
    _force_F: torch.Tensor
    _force_lower: torch.Tensor
    _force_upper: torch.Tensor

    def __init__(self, config: SafetyConfig | Mapping[str, Any]) -> None:
        super().__init__()
        if not isinstance(config, SafetyConfig):
            config = parse_config(config)
        self.config = config
        b = self.builder = ConstraintBuilder(config)
        n, ms = b.n, b.num_slacks
        self._gain_slices = b.gain_slices
        self._joint_rows = b.joint_rows.rows
        self._plugin_rows = b.num_barrier_rows - self._joint_rows
        self.register_buffer("_effort_min", _as_tensor(b.effort_min), persistent=False)
        self.register_buffer("_effort_max", _as_tensor(b.effort_max), persistent=False)
        rate = np.zeros(n) if b.rate_max is None else b.rate_max
        self.register_buffer("_rate_max", _as_tensor(rate), persistent=False)
        cost = np.concatenate((b.weights**2, np.full(ms, b.slack_weight)))
        self.register_buffer("_cost", _as_tensor(cost), persistent=False)
        self.register_buffer("_slack_matrix", _as_tensor(b.slack_matrix()), persistent=False)
        self.register_buffer("_row_barrier", torch.as_tensor(b.row_barrier), persistent=False)
        self.register_buffer("_default_gains", _as_tensor(b.default_gains), persistent=False)
        joint = b.joint_rows
        for name in ("G", "H0", "h0_offset", "H1", "D"):
            self.register_buffer(
                f"_joint_{name}", _as_tensor(getattr(joint, name)), persistent=False
            )
        static = None if b.force_dynamic else b.force_rows(None)
        self._force_static = static is not None
        for name, value in zip(("F", "lower", "upper"), static or ((), (), ()), strict=True):
            self.register_buffer(f"_force_{name}", _as_tensor(np.asarray(value)), persistent=False)

    # ------------------------------------------------------------------ sizes and names

    @property
    def num_actuators(self) -> int:
        """``n``."""
        return self.builder.n

    @property
    def num_gains(self) -> int:
        """Length of the per-sample gains vector (``spec.barrier_params`` of a policy)."""
        return self.builder.num_gains

    @property
    def default_gains(self) -> torch.Tensor:
        """``(num_gains,)`` every barrier's configured ``class_k``, in config order."""
        return self._default_gains

    def check_policy_spec(self, spec: PolicySpec) -> None:
        """Check that a policy with ``spec`` can feed this layer (commands and gains line up).

        Raises:
            ConfigError: ``spec.action.names`` differ from ``actuators.names`` (order
                included), or ``spec.barrier_params`` differs from :attr:`num_gains`.
        """
        names = self.builder.names
        if tuple(spec.action.names) != tuple(names):
            raise ConfigError(
                "spec.action.names", list(spec.action.names), f"the actuators {list(names)}"
            )
        if spec.barrier_params != self.num_gains:
            raise ConfigError(
                "spec.barrier_params",
                spec.barrier_params,
                f"{self.num_gains}, one gain per relative degree of each barrier",
            )

    def row_names(self) -> tuple[str, ...]:
        """Names of the QP rows, in the order of :attr:`BarrierNetOutput.active`."""
        b = self.builder
        slack_rows = [name for name, soft in zip(b.barrier_names, b.soft, strict=True) if soft]
        return (
            *(f"effort_upper[{a}]" for a in b.names),
            *(f"effort_lower[{a}]" for a in b.names),
            *(f"slack_nonnegative[{r}]" for r in slack_rows),
            *(f"{f}.upper" for f in b.force_names),
            *(f"{f}.lower" for f in b.force_names),
            *b.barrier_names,
        )

    # ------------------------------------------------------------------ row builders

    def window(
        self, batch: int, like: torch.Tensor, u_prev: torch.Tensor | None, dt_s: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the ``(B, n)`` lower and upper bounds on ``u``: the box, cut by the rate window.

        Same rule as :meth:`ConstraintBuilder.window`, including its precedence: where the
        window misses the box, the bounds collapse to the box point nearest ``u_prev``.
        """
        lo = self._effort_min.to(like).expand(batch, -1)
        hi = self._effort_max.to(like).expand(batch, -1)
        if u_prev is None or dt_s is None:
            return lo, hi
        step = self._rate_max.to(like) * dt_s.unsqueeze(-1)
        lower, upper = torch.maximum(lo, u_prev - step), torch.minimum(hi, u_prev + step)
        missed = lower > upper
        nearest = torch.minimum(torch.maximum(u_prev, lo), hi)
        return torch.where(missed, nearest, lower), torch.where(missed, nearest, upper)

    def force_rows(
        self, batch: int, like: torch.Tensor, state: Mapping[str, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(F, lower, upper)`` of shapes ``(B, k, n)``, ``(B, k)``, ``(B, k)``."""
        if self._force_static:
            F, lo, hi = (self._force_F, self._force_lower, self._force_upper)
            return (
                F.to(like).expand(batch, -1, -1),
                lo.to(like).expand(batch, -1),
                hi.to(like).expand(batch, -1),
            )
        rows = [self.builder.force_rows(_sample(state, i)) for i in range(batch)]
        return tuple(  # type: ignore[return-value]
            torch.stack([_as_tensor(np.asarray(r[j])) for r in rows]).to(like) for j in range(3)
        )

    def barrier_rows(
        self,
        batch: int,
        like: torch.Tensor,
        state: Mapping[str, torch.Tensor] | None,
        gains: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Return ``(G, b)``, ``(B, m, n)`` and ``(B, m)``: barrier rows read ``G u (+ s) >= b``.

        The batched twin of :meth:`ConstraintBuilder.barrier_rows`: joint rows are
        computed in torch from the builder's affine matrices (differentiable in the
        joint state), plug-in rows come from the builder per sample (constants for
        autograd); the gains enter through :func:`class_k_coefficients_torch`.
        """
        n, degree = self.builder.n, self.builder.degree_max
        G_parts, drift_parts, deriv_parts = [], [], []
        if self._joint_rows:
            z = torch.cat(
                (
                    _state_tensor(state, "joint_position", batch, n, like),
                    _state_tensor(state, "joint_velocity", batch, n, like),
                ),
                dim=-1,
            )
            G_parts.append(self._joint_G.to(like).expand(batch, -1, -1))
            drift_parts.append(z @ self._joint_D.to(like).T)
            h0 = z @ self._joint_H0.to(like).T + self._joint_h0_offset.to(like)
            h1 = z @ self._joint_H1.to(like).T
            # Velocity rows have h1 = 0; with no position rows degree_max is 1 and h1 goes.
            deriv_parts.append(_pad(torch.stack((h0, h1), dim=-1)[..., :degree], degree))
        if self._plugin_rows:
            terms = [self.builder.barrier_terms(_sample(state, i)) for i in range(batch)]
            rows = slice(self._joint_rows, None)
            G_parts.append(torch.stack([_as_tensor(t.G[rows]) for t in terms]).to(like))
            drift_parts.append(torch.stack([_as_tensor(t.drift[rows]) for t in terms]).to(like))
            deriv_parts.append(
                torch.stack([_as_tensor(t.derivatives[rows]) for t in terms]).to(like)
            )
        if not G_parts:
            return like.new_zeros(batch, 0, n), like.new_zeros(batch, 0)
        per_barrier = [
            _pad(class_k_coefficients_torch(gains[:, s]), degree) for s in self._gain_slices
        ]
        c = torch.stack(per_barrier, dim=1)[:, self._row_barrier]  # (B, m, degree)
        derivatives = torch.cat(deriv_parts, dim=1)
        bound = -(torch.cat(drift_parts, dim=1) + (c * derivatives).sum(-1))
        return torch.cat(G_parts, dim=1), bound

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        u_nominal: torch.Tensor,
        state: Mapping[str, torch.Tensor] | None = None,
        gains: torch.Tensor | None = None,
        u_prev: torch.Tensor | None = None,
        dt_s: float | torch.Tensor | None = None,
    ) -> BarrierNetOutput:
        """Filter a batch of nominal commands.

        Args:
            u_nominal: ``(B, n)`` nominal commands (float32 or float64; the QP is solved
                in this dtype).
            state: per-key ``(B, ...)`` tensors, e.g. ``joint_position`` and
                ``joint_velocity`` of shape ``(B, n)``; plug-ins get one sample at a time
                as numpy arrays. ``None`` when no barrier or force function needs it.
            gains: ``(B, num_gains)`` positive class-K gains (default: the config's).
            u_prev: ``(B, n)`` previous commands; required with ``actuators.rate_max``.
            dt_s: seconds since ``u_prev``, a float or ``(B,)``; required with ``u_prev``.

        Returns:
            Safe commands, slacks and the active rows.

        Raises:
            ValueError: a tensor has the wrong shape, is non-finite, gains are not
                positive, or ``u_prev``/``dt_s`` are missing while rate limits are set.
            ObservationError: the state lacks a key the barriers need.
            QPSolveError: the hard constraints of some sample cannot all hold.
        """
        n = self.builder.n
        dims = {"n": n, "g": self.num_gains}
        check_batch_tensor(_WHERE, "u_nominal", u_nominal, ("B", "n"), dims)
        batch, like = u_nominal.shape[0], u_nominal
        if gains is None:
            gains = self._default_gains.to(like).expand(batch, -1)
        check_batch_tensor(_WHERE, "gains", gains, ("B", "g"), dims)
        if not bool((gains > 0).all()):
            raise ValueError(f"{_WHERE}: 'gains' has entries <= 0; expected class-K gains > 0")
        dt_tensor = self._check_rate_inputs(u_prev, dt_s, dims, like)

        lower, upper = self.window(batch, like, u_prev, dt_tensor)
        F, f_lo, f_hi = self.force_rows(batch, like, state)
        G_bar, b_bar = self.barrier_rows(batch, like, state, gains)
        ms = self.builder.num_slacks
        eye_u = torch.eye(n, dtype=like.dtype, device=like.device)
        zeros_u = like.new_zeros(n, ms)
        slack = -torch.eye(ms, dtype=like.dtype, device=like.device)
        rows = [
            torch.cat((eye_u, zeros_u), -1).expand(batch, -1, -1),
            torch.cat((-eye_u, zeros_u), -1).expand(batch, -1, -1),
            torch.cat((like.new_zeros(ms, n), slack), -1).expand(batch, -1, -1),
            torch.cat((F, F.new_zeros(batch, F.shape[1], ms)), -1),
            torch.cat((-F, F.new_zeros(batch, F.shape[1], ms)), -1),
            torch.cat((-G_bar, -self._slack_matrix.to(like).expand(batch, -1, -1)), -1),
        ]
        bounds = [upper, -lower, like.new_zeros(batch, ms), f_hi, -f_lo, -b_bar]
        cost = self._cost.to(like)
        Q = torch.diag_embed(cost).expand(batch, -1, -1)
        q = torch.cat((-cost[:n] * u_nominal, like.new_zeros(batch, ms)), -1)
        solution = solve_qp(Q, q, torch.cat(rows, 1), torch.cat(bounds, 1))
        return BarrierNetOutput(solution.u[:, :n], solution.u[:, n:], solution.active)

    def _check_rate_inputs(
        self,
        u_prev: torch.Tensor | None,
        dt_s: float | torch.Tensor | None,
        dims: dict[str, int],
        like: torch.Tensor,
    ) -> torch.Tensor | None:
        """Validate ``u_prev``/``dt_s``; return ``dt_s`` as a ``(B,)`` tensor or ``None``."""
        if self.builder.rate_max is None:
            if u_prev is not None or dt_s is not None:
                raise ValueError(
                    f"{_WHERE}: 'u_prev'/'dt_s' given but the config has no "
                    "actuators.rate_max; expected None (they only set the rate window)"
                )
            return None
        if u_prev is None or dt_s is None:
            raise ValueError(
                f"{_WHERE}: 'u_prev' and 'dt_s' are required because the config sets "
                "actuators.rate_max; expected a (B, n) tensor and seconds >= 0"
            )
        check_batch_tensor(_WHERE, "u_prev", u_prev, ("B", "n"), dims)
        dt = torch.as_tensor(dt_s, dtype=like.dtype, device=like.device)
        dt = dt.expand(dims["B"]) if dt.dim() == 0 else dt
        check_batch_tensor(_WHERE, "dt_s", dt, ("B",), dims)
        if not bool((dt >= 0).all()):
            raise ValueError(f"{_WHERE}: 'dt_s' has negative entries; expected seconds >= 0")
        return dt


def _pad(coefficients: torch.Tensor, width: int) -> torch.Tensor:
    """Zero-pad the last dimension up to ``width`` (rows of lower relative degree)."""
    missing = width - coefficients.shape[-1]
    if missing <= 0:
        return coefficients
    return torch.cat((coefficients, coefficients.new_zeros(*coefficients.shape[:-1], missing)), -1)


def _state_tensor(
    state: Mapping[str, torch.Tensor] | None, key: str, batch: int, n: int, like: torch.Tensor
) -> torch.Tensor:
    """Return ``state[key]`` checked to be a finite ``(B, n)`` float tensor, in ``like``'s dtype."""
    if state is None or key not in state:
        raise ObservationError(
            key, f"missing from the batched safety state; expected a ({batch}, {n}) tensor"
        )
    value = check_batch_tensor(
        _WHERE, f"state[{key!r}]", state[key], ("B", "n"), {"B": batch, "n": n}
    )
    return value.to(like)


def _sample(state: Mapping[str, torch.Tensor] | None, index: int) -> dict[str, Any]:
    """One sample of a batched state, as the numpy mapping the runtime builders take."""
    if state is None:
        return {}
    return {
        key: value[index].detach().cpu().numpy()
        if isinstance(value, torch.Tensor)
        else value[index]
        for key, value in state.items()
    }
