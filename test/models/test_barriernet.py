"""BarrierNet layer: the runtime QP's rows and optimum, gradients, gains head, training."""

from __future__ import annotations

import os
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
import torch
from cvxpylayers.torch import CvxpyLayer
from hypothesis import example, given, settings
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError, ObservationError
from liquid_controller.models.barriernet import (
    BarrierGainsHead,
    BarrierNetLayer,
    class_k_coefficients_torch,
    initialise_gains_head,
)
from liquid_controller.models.policy import LiquidPolicy, default_policy_config, default_policy_spec
from liquid_controller.models.qp_layer import QPSolveError
from liquid_controller.runtime.spec import MIN_BARRIER_GAIN
from liquid_controller.safety import class_k_coefficients, load_config, parse_config, plugins, solve
from liquid_controller.safety.filter import SafetyFilter
from liquid_controller.safety.plugins import PluginKind
from liquid_controller.safety.reference import ReferenceQP

F64 = torch.float64
# Few examples every day; 50x under HYPOTHESIS_PROFILE=stress (see test/conftest.py).
SCALE = 50 if os.environ.get("HYPOTHESIS_PROFILE") == "stress" else 1

WHEELS = {
    "actuators": {
        "names": ["left", "right"],
        "effort_min": [-2.0, -2.0],
        "effort_max": [2.0, 2.0],
        "rate_max": [40.0, 40.0],
    },
    "force_limits": [{"name": "traction", "A": [[10.0, 10.0]], "lower": [-12.0], "upper": [12.0]}],
    "barriers": [
        {
            "name": "pos",
            "type": "joint_position",
            "lower": [-1.0, -1.0],
            "upper": [1.0, 1.0],
            "inertia": [0.05, 0.1],
            "class_k": [3.0, 4.0],
        },
        {
            "name": "vel",
            "type": "joint_velocity",
            "lower": [-5.0, -5.0],
            "upper": [5.0, 5.0],
            "inertia": [0.05, 0.1],
            "damping": [0.1, 0.2],
            "class_k": [10.0],
        },
    ],
    "weights": [1.0, 2.0],
}

PLUGIN_SOURCE = textwrap.dedent(
    """
    import numpy as np
    from liquid_controller.safety import BarrierTerms

    def lane(state, params):
        # h = width - y, y' = v_y, v_y' = u_0 + u_1: relative degree 2.
        y, vy = state["pose"]
        G = np.array([[-1.0, -1.0]])
        return BarrierTerms(G, np.zeros(1), np.array([[params["width"] - y, -vy]]))

    def traction(state, params):
        scale = 1.0 + abs(state["pose"][1])
        return np.array([[scale, -scale]]), np.array([-3.0]), np.array([3.0])
    """
)


@pytest.fixture
def plugin_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    (tmp_path / "bn_test_plugins.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = (  # as a package's entry points would register them
        EntryPoint("bn_traction", "bn_test_plugins:traction", plugins.FORCE_LIMIT_GROUP),
        EntryPoint("bn_lane", "bn_test_plugins:lane", plugins.BARRIER_GROUP),
    )
    in_group = {kind: tuple(p for p in registry if p.group == kind.value) for kind in PluginKind}
    monkeypatch.setattr(plugins, "available_plugins", in_group.__getitem__)
    config = {key: value for key, value in WHEELS.items() if key != "actuators"}
    config["actuators"] = {k: v for k, v in WHEELS["actuators"].items() if k != "rate_max"}
    config["force_limits"] = [
        *WHEELS["force_limits"],
        {"name": "grip", "function": "bn_traction", "rows": 1},
    ]
    config["barriers"] = [
        *WHEELS["barriers"],
        {
            "name": "lane",
            "type": "plugin",
            "function": "bn_lane",
            "rows": 1,
            "relative_degree": 2,
            "class_k": [1.0, 2.0],
            "params": {"width": 0.5},
            "hard": False,
        },
    ]
    config["nominal_state"] = {"pose": [0.0, 0.0]}
    return config


def batch(seed: int, size: int, *, plugin: bool = False) -> dict[str, torch.Tensor]:
    """Nominal commands, states, previous commands and gains, some near the limits."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=gen, dtype=F64)

    data = {
        "u_nominal": 6.0 * rand(size, 2) - 3.0,
        "joint_position": 1.9 * rand(size, 2) - 0.95,
        "joint_velocity": 8.0 * rand(size, 2) - 4.0,
        "u_prev": rand(size, 2) - 0.5,  # inside the traction band: hard rows feasible
        "gains": 6.0 * rand(size, 5 if plugin else 3) + 0.2,
    }
    if plugin:
        data["pose"] = torch.stack((0.6 * rand(size) - 0.3, 2.0 * rand(size) - 1.0), -1)
    return data


def state_of(data: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: data[k] for k in ("joint_position", "joint_velocity", "pose") if k in data}


def numpy_sample(data: dict[str, torch.Tensor], i: int) -> dict[str, np.ndarray]:
    return {k: v[i].numpy() for k, v in state_of(data).items()}


def test_barrier_rows_match_the_runtime_builder_row_for_row(plugin_config: dict) -> None:
    layer = BarrierNetLayer(plugin_config)
    data = batch(seed=1, size=12, plugin=True)
    u = data["u_nominal"]
    G, b = layer.barrier_rows(12, u, state_of(data), data["gains"])
    F, f_lo, f_hi = layer.force_rows(12, u, state_of(data))
    for i in range(12):
        G_ref, b_ref = layer.builder.barrier_rows(numpy_sample(data, i), data["gains"][i].numpy())
        np.testing.assert_allclose(G[i].numpy(), G_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b[i].numpy(), b_ref, rtol=1e-12, atol=1e-12)
        force = layer.builder.force_rows(numpy_sample(data, i))
        for ours, ref in zip((F, f_lo, f_hi), force, strict=True):
            np.testing.assert_array_equal(ours[i].numpy(), ref)


@pytest.mark.parametrize("dt_s", [0.0, 0.01, 0.2])
def test_window_matches_the_runtime_builder(dt_s: float) -> None:
    layer = BarrierNetLayer(WHEELS)
    u_prev = torch.tensor([[3.0, -1.0], [-2.5, 1.99], [0.5, 0.5], [-2.0, 2.0]], dtype=F64)
    lower, upper = layer.window(4, u_prev, u_prev, torch.full((4,), dt_s, dtype=F64))
    for i in range(4):
        ref = layer.builder.window(u_prev[i].numpy(), dt_s)
        np.testing.assert_array_equal(lower[i].numpy(), ref.lower)
        np.testing.assert_array_equal(upper[i].numpy(), ref.upper)


def test_forward_matches_the_runtime_qp(plugin_config: dict) -> None:
    for config, plugin in ((WHEELS, False), (plugin_config, True)):
        layer = BarrierNetLayer(config)
        data = batch(seed=2, size=24, plugin=plugin)
        rate = layer.builder.rate_max is not None
        out = layer(
            data["u_nominal"],
            state_of(data),
            data["gains"],
            u_prev=data["u_prev"] if rate else None,
            dt_s=0.01 if rate else None,
        )
        assert bool(out.active[:, -layer.builder.num_barrier_rows :].any()), "no barrier active"
        for i in range(24):
            problem = layer.builder.problem(
                data["u_nominal"][i].numpy(),
                numpy_sample(data, i),
                data["u_prev"][i].numpy(),
                0.01,
                data["gains"][i].numpy(),
            )
            ref = solve(problem)
            assert ref.found
            np.testing.assert_allclose(out.u[i].numpy(), ref.x[:2], rtol=0, atol=1e-9)
            np.testing.assert_allclose(out.slack[i].numpy(), ref.x[2:], rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "plugin",
    [False, True],
    ids=["joint_barriers", "joint_and_plugin_barriers"],
)
def test_forward_matches_the_runtime_safety_filter(plugin: bool, plugin_config: dict) -> None:
    config = plugin_config if plugin else WHEELS
    layer = BarrierNetLayer(config)
    safety_filter = SafetyFilter(config)
    rate = layer.builder.rate_max is not None
    period_s = safety_filter.config.timing.period_s  # the filter's dt when t is None
    data = batch(seed=7, size=24, plugin=plugin)
    out = layer(
        data["u_nominal"],
        state_of(data),
        data["gains"],
        u_prev=data["u_prev"] if rate else None,
        dt_s=period_s if rate else None,
    )
    for i in range(24):
        safety_filter.reset(u_prev=data["u_prev"][i].numpy())
        result = safety_filter.filter(
            data["u_nominal"][i].numpy(), numpy_sample(data, i), gains=data["gains"][i].numpy()
        )
        assert not result.status.fallback, (i, result.status, result.reason)
        np.testing.assert_allclose(out.u[i].numpy(), result.u, rtol=0, atol=1e-6)


@settings(max_examples=50 * SCALE)
@given(
    seed=st.integers(0, 2**31 - 1),
    nominal_scale=st.floats(1e-3, 1e4),
    gain_scale=st.floats(1e-2, 1e2),
    dt_s=st.floats(0.0, 0.1),
)
# dt = 0 closes the rate window (u = u_prev); daqp once called sample 4 infeasible here.
@example(seed=77724622, nominal_scale=2.0, gain_scale=2.0, dt_s=0.0)
def test_output_satisfies_the_hard_rows_and_relaxes_only_through_slack(
    seed: int, nominal_scale: float, gain_scale: float, dt_s: float
) -> None:
    layer = BarrierNetLayer(WHEELS)
    data = batch(seed, size=8)
    out = layer(
        nominal_scale * data["u_nominal"],
        state_of(data),
        gain_scale * data["gains"],
        u_prev=data["u_prev"],
        dt_s=dt_s,
    )
    u, tol = out.u, 1e-9
    lower, upper = layer.window(8, u, data["u_prev"], torch.full((8,), dt_s, dtype=F64))
    assert bool(((u >= lower - tol) & (u <= upper + tol)).all()), "box or rate window broken"
    traction = 10.0 * u.sum(-1)
    assert bool(((traction >= -12.0 - tol) & (traction <= 12.0 + tol)).all()), "traction broken"
    assert bool((out.slack >= -tol).all()), "negative slack"
    G, b = layer.barrier_rows(8, u, state_of(data), gain_scale * data["gains"])
    margin = (G @ u.unsqueeze(-1)).squeeze(-1) + out.slack - b  # every barrier row is soft here
    assert bool((margin >= -tol * (1.0 + b.abs())).all()), "barrier broken beyond its slack"


def test_zero_dt_holds_the_previous_command_like_the_runtime_filter() -> None:
    # dt = 0 (the runtime filter's repeated timestamp) closes the rate window on u_prev:
    # every u_prev here meets the hard rows, so the command is held exactly, the barriers
    # relax through slack, and u moves only with u_prev. Sample 4 is the one daqp was
    # given as two opposite rows per actuator and called infeasible.
    layer = BarrierNetLayer(WHEELS)
    data = batch(seed=77724622, size=8)
    nominal, gains = 2.0 * data["u_nominal"], 2.0 * data["gains"]
    out = layer(nominal, state_of(data), gains, u_prev=data["u_prev"], dt_s=0.0)
    torch.testing.assert_close(out.u, data["u_prev"], atol=1e-12, rtol=0)
    safety_filter = SafetyFilter(WHEELS)
    for i in range(8):
        safety_filter.reset(u_prev=data["u_prev"][i].numpy(), t=1.0)
        result = safety_filter.filter(
            nominal[i].numpy(), numpy_sample(data, i), gains=gains[i].numpy(), t=1.0
        )
        assert not result.status.fallback, (i, result.status, result.reason)
        np.testing.assert_allclose(out.u[i].numpy(), result.u, rtol=0, atol=1e-6)

    names = ("u_prev", "joint_position", "joint_velocity")
    leaves = tuple(data[k][3:5].clone().requires_grad_() for k in names)

    def held(u_prev, q, v):  # noqa: ANN001, ANN202
        state = {"joint_position": q, "joint_velocity": v}
        out = layer(nominal[3:5], state, gains[3:5], u_prev=u_prev, dt_s=0.0)
        return out.u, out.slack

    assert torch.autograd.gradcheck(held, leaves)
    u_prev = leaves[0]
    held(u_prev, *leaves[1:])[0].sum().backward()
    torch.testing.assert_close(u_prev.grad, torch.ones_like(u_prev), atol=1e-12, rtol=0)


def test_feasible_nominal_passes_through() -> None:
    layer = BarrierNetLayer(WHEELS)
    u_nom = torch.tensor([[0.1, -0.2]], dtype=F64)
    state = {
        "joint_position": torch.zeros(1, 2, dtype=F64),
        "joint_velocity": torch.zeros(1, 2, dtype=F64),
    }
    out = layer(u_nom, state, u_prev=u_nom.clone(), dt_s=0.01)
    torch.testing.assert_close(out.u, u_nom, atol=1e-12, rtol=0)
    assert not bool(out.active.any())


@settings(max_examples=50 * SCALE)
@given(gains=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=4))
def test_class_k_coefficients_match_numpy(gains: list[float]) -> None:
    ours = class_k_coefficients_torch(torch.tensor([gains], dtype=F64))[0].numpy()
    np.testing.assert_allclose(ours, class_k_coefficients(gains), rtol=1e-12)


def test_gradcheck_through_nominal_gains_and_state() -> None:
    layer = BarrierNetLayer(WHEELS)
    data = batch(seed=3, size=6)
    names = ("u_nominal", "gains", "joint_position", "joint_velocity", "u_prev")
    leaves = tuple(data[k].clone().requires_grad_() for k in names)

    def safe(u_nom, gains, q, v, u_prev):  # noqa: ANN001, ANN202
        state = {"joint_position": q, "joint_velocity": v}
        out = layer(u_nom, state, gains, u_prev=u_prev, dt_s=0.01)
        return out.u, out.slack

    out = layer(data["u_nominal"], state_of(data), data["gains"], u_prev=data["u_prev"], dt_s=0.01)
    assert bool(out.active[:, -8:].any()), "the check should cover active barrier rows"
    assert torch.autograd.gradcheck(safe, leaves)


@settings(max_examples=50 * SCALE)
@given(
    features=st.lists(st.floats(-1e4, 1e4), min_size=3, max_size=3),
    seed=st.integers(0, 1000),
)
def test_gains_head_is_positive_for_any_features(features: list[float], seed: int) -> None:
    torch.manual_seed(seed)
    head = BarrierGainsHead(3, 4, floor=0.05).double()
    with torch.no_grad():
        head.weight.normal_(std=10.0)
    gains = head(torch.tensor([features], dtype=F64))
    assert bool((gains >= 0.05).all()) and bool(torch.isfinite(gains).all())


def test_untrained_gains_head_outputs_the_configured_gains() -> None:
    layer = BarrierNetLayer(WHEELS)
    head = BarrierGainsHead(5, layer.num_gains, init_gains=layer.default_gains).double()
    gains = head(torch.randn(7, 5, dtype=F64))
    # The bias is stored in float32 before .double(): equal to float32 precision.
    torch.testing.assert_close(gains, layer.default_gains.expand(7, -1), rtol=1e-6, atol=0)
    np.testing.assert_array_equal(layer.default_gains.numpy(), [3.0, 4.0, 10.0])


def test_gains_head_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="'floor' is 0.0; expected a number > 0"):
        BarrierGainsHead(3, 2, floor=0.0)
    with pytest.raises(ValueError, match=r"'gains' is \[1.0, 0.001\]; expected 2 finite"):
        BarrierGainsHead(3, 2, init_gains=[1.0, 0.001])


def test_training_through_the_layer_lowers_the_loss_and_reaches_the_gains() -> None:
    # A toy policy pushes the joints toward their velocity limit; the task wants the
    # aggressive reference command, so the loss rewards larger class-K gains (a less
    # conservative barrier) and a nominal command closer to the reference.
    torch.manual_seed(0)
    layer = BarrierNetLayer(
        {k: v for k, v in WHEELS.items() if k != "force_limits"}
        | {"actuators": {k: v for k, v in WHEELS["actuators"].items() if k != "rate_max"}}
    )
    body = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh()).double()
    action = torch.nn.Linear(16, 2).double()
    head = BarrierGainsHead(16, layer.num_gains, init_gains=layer.default_gains).double()
    params = [*body.parameters(), *action.parameters(), *head.parameters()]
    optimiser = torch.optim.Adam(params, lr=0.05)
    gen = torch.Generator().manual_seed(4)
    q = 1.6 * torch.rand(32, 2, generator=gen, dtype=F64) - 0.8
    v = 4.0 + 0.8 * torch.rand(32, 2, generator=gen, dtype=F64)  # close to the 5 rad/s limit
    u_ref = torch.full((32, 2), 1.5, dtype=F64)
    losses = []
    for _ in range(25):
        features = body(torch.cat((q, v), -1))
        out = layer(action(features), {"joint_position": q, "joint_velocity": v}, head(features))
        loss = ((out.u - u_ref) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        if not losses:
            assert head.bias.grad is not None
            assert float(head.bias.grad.abs().max()) > 0.0, "no gradient reached the gains"
        losses.append(float(loss.detach()))
        optimiser.step()
    assert losses[-1] < 0.5 * losses[0], losses


def test_float32_batch_gives_float32_commands() -> None:
    layer = BarrierNetLayer(WHEELS)
    data = batch(seed=5, size=8)
    out64 = layer(
        data["u_nominal"], state_of(data), data["gains"], u_prev=data["u_prev"], dt_s=0.01
    )
    as32 = {k: v.float() for k, v in data.items()}
    out32 = layer(
        as32["u_nominal"], state_of(as32), as32["gains"], u_prev=as32["u_prev"], dt_s=0.01
    )
    assert out32.u.dtype == torch.float32
    torch.testing.assert_close(out32.u.double(), out64.u, atol=1e-4, rtol=0)


def test_unsatisfiable_hard_barrier_names_the_sample() -> None:
    config = dict(WHEELS)
    config["barriers"] = [dict(WHEELS["barriers"][1], hard=True)]
    layer = BarrierNetLayer(config)
    # Velocity far above the limit with damping too small to recover within the box.
    state = {
        "joint_position": torch.zeros(2, 2, dtype=F64),
        "joint_velocity": torch.tensor([[0.0, 0.0], [60.0, 0.0]], dtype=F64),
    }
    u = torch.zeros(2, 2, dtype=F64)
    with pytest.raises(QPSolveError, match=r"\{1: infeasible\}"):
        layer(u, state, u_prev=u, dt_s=0.01)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (
            {"u_nominal": torch.zeros(3, 3, dtype=F64)},
            ValueError,
            r"'u_nominal' has shape \(3, 3\)",
        ),
        ({"gains": torch.zeros(3, 3, dtype=F64)}, ValueError, "'gains' has entries <= 0"),
        ({"gains": torch.ones(3, 2, dtype=F64)}, ValueError, r"'gains' has shape \(3, 2\)"),
        ({"u_prev": None}, ValueError, "'u_prev' and 'dt_s' are required"),
        ({"dt_s": -0.1}, ValueError, "'dt_s' has negative entries"),
        (
            {"state": {"joint_position": torch.zeros(3, 2, dtype=F64)}},
            ObservationError,
            "joint_velocity",
        ),
    ],
)
def test_bad_inputs_are_named(change: dict, error: type, match: str) -> None:
    layer = BarrierNetLayer(WHEELS)
    zeros = torch.zeros(3, 2, dtype=F64)
    args = {
        "u_nominal": zeros,
        "state": {"joint_position": zeros, "joint_velocity": zeros},
        "gains": torch.ones(3, 3, dtype=F64),
        "u_prev": zeros,
        "dt_s": 0.01,
    } | change
    with pytest.raises(error, match=match):
        layer(**args)


def test_u_prev_without_rate_limits_is_rejected() -> None:
    config = dict(
        WHEELS, actuators={k: v for k, v in WHEELS["actuators"].items() if k != "rate_max"}
    )
    layer = BarrierNetLayer(parse_config(config))
    zeros = torch.zeros(1, 2, dtype=F64)
    state = {"joint_position": zeros, "joint_velocity": zeros}
    for extra in ({"u_prev": zeros, "dt_s": 0.01}, {"dt_s": 0.01}):
        with pytest.raises(ValueError, match="given but the config has no actuators.rate_max"):
            layer(zeros, state, **extra)


def test_shipped_config_matches_the_runtime_filter() -> None:
    # config/safety.yaml: relative degree 1 only, so the joint rows' h-dot column is
    # dropped (degree_max = 1); per-sample gains and the default ones.
    config = load_config(Path(__file__).resolve().parents[2] / "config" / "safety.yaml")
    layer = BarrierNetLayer(config)
    safety_filter = SafetyFilter(config)
    gen = torch.Generator().manual_seed(6)
    size = 16
    u_nominal = 4.0 * torch.rand(size, 2, generator=gen, dtype=F64) - 2.0
    state = {
        "joint_position": torch.zeros(size, 2, dtype=F64),
        "joint_velocity": 30.0 * torch.rand(size, 2, generator=gen, dtype=F64) - 15.0,
    }
    u_prev = torch.rand(size, 2, generator=gen, dtype=F64) - 0.5
    gains = 20.0 * torch.rand(size, layer.num_gains, generator=gen, dtype=F64) + 0.1
    period_s = config.timing.period_s
    for sample_gains in (None, gains):
        out = layer(u_nominal, state, sample_gains, u_prev=u_prev, dt_s=period_s)
        assert bool(out.active[:, -4:].any()), "no barrier active"
        for i in range(size):
            safety_filter.reset(u_prev=u_prev[i].numpy())
            result = safety_filter.filter(
                u_nominal[i].numpy(),
                {k: v[i].numpy() for k, v in state.items()},
                gains=None if sample_gains is None else sample_gains[i].numpy(),
            )
            assert not result.status.fallback, (i, result.status, result.reason)
            np.testing.assert_allclose(out.u[i].numpy(), result.u, rtol=0, atol=1e-6)


def test_liquid_policy_trains_end_to_end_through_the_layer() -> None:
    # The models package's LiquidPolicy with a barrier head sized by the layer: its
    # softplus head is started at the configured gains, then policy and gains train
    # together through the QP.
    config = dict(WHEELS, actuators={**WHEELS["actuators"], "names": ["left_wheel", "right_wheel"]})
    config["actuators"].pop("rate_max")
    config["barriers"] = [dict(b, joints=["left_wheel", "right_wheel"]) for b in WHEELS["barriers"]]
    layer = BarrierNetLayer(config)
    spec = default_policy_spec(camera=False, barrier_params=layer.num_gains)
    layer.check_policy_spec(spec)
    torch.manual_seed(1)
    policy = LiquidPolicy(default_policy_config(cell="cfc"), spec).double()
    assert policy.barrier_head is not None
    initialise_gains_head(policy.barrier_head, layer.default_gains, floor=MIN_BARRIER_GAIN)
    gen = torch.Generator().manual_seed(8)
    imu = torch.randn(16, 6, generator=gen, dtype=F64)
    state = {
        "joint_position": 1.6 * torch.rand(16, 2, generator=gen, dtype=F64) - 0.8,
        "joint_velocity": 2.0 * torch.rand(16, 2, generator=gen, dtype=F64) - 1.0,
    }
    u_ref = torch.full((16, 2), 0.3, dtype=F64)  # reachable for some samples, not all
    optimiser = torch.optim.Adam(policy.parameters(), lr=0.05)
    losses = []
    for step in range(15):
        h0 = policy.initial_state(16).double()
        out = policy(None, imu, h0, torch.full((16,), 0.02, dtype=F64))
        if step == 0:
            torch.testing.assert_close(out.barrier, layer.default_gains.expand(16, -1))
        safe = layer(out.action, state, out.barrier)
        loss = ((safe.u - u_ref) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        if step == 0:
            grad = policy.barrier_head.weight.grad
            assert grad is not None and float(grad.abs().max()) > 0.0
        losses.append(float(loss.detach()))
        optimiser.step()
    assert losses[-1] < 0.7 * losses[0], losses


def test_policy_spec_mismatch_is_named() -> None:
    layer = BarrierNetLayer(WHEELS)
    with pytest.raises(ConfigError, match="spec.action.names"):
        layer.check_policy_spec(default_policy_spec(camera=False, barrier_params=3))
    spec = default_policy_spec(camera=False, barrier_params=2)
    renamed = BarrierNetLayer(
        dict(WHEELS, actuators={**WHEELS["actuators"], "names": list(spec.action.names)},
             barriers=[dict(b, joints=list(spec.action.names)) for b in WHEELS["barriers"]])
    )  # fmt: skip
    with pytest.raises(ConfigError, match="'spec.barrier_params': got 2; expected 3"):
        renamed.check_policy_spec(spec)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # diffcp's numpy-2 copy warnings
def test_gradients_match_cvxpylayers_on_the_safety_reference_problem() -> None:
    # cvxpylayers differentiates the safety package's own cvxpy statement of the QP
    # (ReferenceQP, a DPP problem); the barrier bound b(gains) is rebuilt in torch from the
    # runtime builder's gain-free terms, so only the QP and its derivative are compared.
    # Slack weight 10, not the default 1e4: at 1e4 cvxpylayers' solves (SCS, and Clarabel
    # through diffcp) are off by 1e-3 to 0.2 in u against HiGHS, which ours matches to 1e-9.
    layer = BarrierNetLayer(dict(WHEELS, slack_weight=10.0))
    builder = layer.builder
    reference = ReferenceQP(builder)
    size, period_s = 6, 0.01
    data = batch(seed=9, size=size)
    params = [
        reference.weights,
        reference.weighted_nominal,
        reference.sqrt_slack_weight,
        reference.lower,
        reference.upper,
        reference.F,
        reference.F_lower,
        reference.F_upper,
        reference.G,
        reference.b,
    ]
    cvx_layer = CvxpyLayer(reference.problem, parameters=params, variables=[reference.u])
    terms = [builder.barrier_terms(numpy_sample(data, i)) for i in range(size)]
    G = torch.stack([torch.from_numpy(t.G) for t in terms])
    drift = torch.stack([torch.from_numpy(t.drift) for t in terms])
    derivatives = torch.stack([torch.from_numpy(t.derivatives) for t in terms])
    windows = [builder.window(data["u_prev"][i].numpy(), period_s) for i in range(size)]
    force = builder.force_rows(None)
    weights = torch.from_numpy(builder.weights)
    loss_weights = torch.randn(size, 2, dtype=F64, generator=torch.Generator().manual_seed(2))

    def reference_u(u_nominal: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
        per_barrier = [class_k_coefficients_torch(gains[:, s]) for s in builder.gain_slices]
        per_barrier = [torch.nn.functional.pad(c, (0, 2 - c.shape[-1])) for c in per_barrier]
        c = torch.stack(per_barrier, 1)[:, torch.from_numpy(builder.row_barrier)]
        b = -(drift + (c * derivatives).sum(-1))
        const = [
            weights.expand(size, -1),
            weights * u_nominal,
            torch.full((size,), builder.slack_weight**0.5, dtype=F64),
            torch.stack([torch.from_numpy(w.lower) for w in windows]),
            torch.stack([torch.from_numpy(w.upper) for w in windows]),
            *(torch.from_numpy(a).expand(size, *a.shape) for a in force),
        ]
        return cvx_layer(*const, G, b, solver_args={"eps": 1e-10})[0]

    def ours(u_nominal: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
        state = state_of(data)
        return layer(u_nominal, state, gains, u_prev=data["u_prev"], dt_s=period_s).u

    results = []
    for layer_u in (ours, reference_u):
        leaves = [
            data["u_nominal"].clone().requires_grad_(),
            data["gains"].clone().requires_grad_(),
        ]
        u = layer_u(*leaves)
        (loss_weights * u).sum().backward()
        results.append((u.detach(), torch.cat((leaves[0].grad, leaves[1].grad), -1)))
    (u_ours, grad_ours), (u_ref, grad_ref) = results
    assert float(grad_ours[:, 2:].abs().max()) > 0.0, "the check should cover active barriers"
    torch.testing.assert_close(u_ours, u_ref, atol=1e-5, rtol=0)

    # Arbiter: central differences of our forward pass (samples are independent, so one
    # column is perturbed for the whole batch at a time).
    inputs = torch.cat((data["u_nominal"], data["gains"]), -1)
    step = 1e-6
    finite_differences = torch.zeros_like(inputs)
    for j in range(inputs.shape[1]):
        shifted = [inputs.clone(), inputs.clone()]
        shifted[0][:, j] += step
        shifted[1][:, j] -= step
        up, down = (ours(x[:, :2], x[:, 2:]) for x in shifted)
        finite_differences[:, j] = (loss_weights * (up - down)).sum(-1) / (2 * step)
    torch.testing.assert_close(grad_ours, finite_differences, atol=1e-6, rtol=1e-5)
    # cvxpylayers agrees except at a sample whose active set holds u in place: there its
    # differentiation of the approximate conic solution reports a gains gradient of about
    # 0.03 that finite differences (and every multiplier > 20) rule out.
    agree = [torch.allclose(grad_ours[i], grad_ref[i], atol=1e-4, rtol=1e-3) for i in range(size)]
    assert sum(agree) >= size - 1, (agree, grad_ours, grad_ref)
