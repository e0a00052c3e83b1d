from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError
from liquid_controller.models.cells import CfCCell, LTCCell
from liquid_controller.models.sequence import LTC, CfC, LiquidRNN, rnn_from_config
from liquid_controller.models.wiring import NCP, AutoNCP, FullyConnected

# Few examples every day; 50x under HYPOTHESIS_PROFILE=stress (see test/conftest.py).
SCALE = 50 if os.environ.get("HYPOTHESIS_PROFILE") == "stress" else 1

INPUTS = 4
# torch 2.13 deprecates TorchScript, but the issue asks for it (ncps fails to script).
scripting = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def make_model(kind: str, seed: int = 0, **kwargs) -> LiquidRNN:
    torch.manual_seed(seed)
    if kind == "cfc_dense":
        return CfC(INPUTS, 6, backbone_units=8, **kwargs)
    if kind == "cfc_pure":
        return CfC(INPUTS, 6, mode="pure", backbone_units=8, backbone_layers=2, **kwargs)
    if kind == "cfc_wired":
        return CfC(INPUTS, AutoNCP(10, 2, seed=seed), **kwargs)
    if kind == "cfc_wired_no_gate":
        return CfC(INPUTS, AutoNCP(10, 2, seed=seed), mode="no_gate", **kwargs)
    if kind == "ltc_wired":
        return LTC(INPUTS, AutoNCP(10, 2, seed=seed), ode_unfolds=3, **kwargs)
    if kind == "ltc_dense":
        return LTC(INPUTS, 5, implicit_param_constraints=False, **kwargs)
    raise AssertionError(kind)


KINDS = ["cfc_dense", "cfc_pure", "cfc_wired", "cfc_wired_no_gate", "ltc_wired", "ltc_dense"]


@settings(max_examples=12 * SCALE)
@given(
    kind=st.sampled_from(KINDS),
    batch=st.integers(2, 5),
    steps=st.integers(1, 6),
    mixed=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_batch_gives_what_each_sample_gives_alone(kind, batch, steps, mixed, seed):
    model = make_model(kind, seed, mixed_memory=mixed, proj_size=3).double()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, steps, INPUTS, generator=gen, dtype=torch.float64)
    timespans = 0.05 + 2.0 * torch.rand(batch, steps, generator=gen, dtype=torch.float64)
    h0 = 0.1 * torch.randn(batch, model.state_size, generator=gen, dtype=torch.float64)
    y, h = model(x, h0, timespans)
    for b in range(batch):
        y_b, h_b = model(x[b : b + 1], h0[b : b + 1], timespans[b : b + 1])
        torch.testing.assert_close(y[b : b + 1], y_b, rtol=0, atol=1e-12)
        torch.testing.assert_close(h[b : b + 1], h_b, rtol=0, atol=1e-12)


def test_ncps_mixes_timespans_across_the_batch_and_we_do_not():
    # ncps issue #81/#83: with batch == units, ncps broadcasts the (batch,) time vector
    # along the neuron axis and silently returns wrong results.
    import ncps.torch as nt

    torch.manual_seed(0)
    theirs = nt.CfC(INPUTS, 3, backbone_units=8)
    ours = CfC(INPUTS, 3, backbone_units=8)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 4, INPUTS)
    timespans = torch.tensor([[0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 3.0, 4.0], [5.0, 0.5, 0.05, 9.0]])
    alone = torch.cat([theirs(x[b : b + 1], timespans=timespans[b : b + 1])[0] for b in range(3)])
    assert not torch.allclose(theirs(x, timespans=timespans)[0], alone, atol=1e-3)
    torch.testing.assert_close(ours(x, timespans=timespans)[0], alone, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_step_equals_sequence_and_state_carries(kind):
    model = make_model(kind, mixed_memory=True)
    x = torch.randn(2, 6, INPUTS)
    ts = torch.rand(2, 6) + 0.1
    y_seq, h_seq = model(x, timespans=ts)
    h = model.initial_state(2)
    for t in range(6):
        y, h = model.step(x[:, t], h, ts[:, t])
        torch.testing.assert_close(y, y_seq[:, t])
    torch.testing.assert_close(h, h_seq)
    # Two halves with the state carried give the whole.
    _, h_half = model(x[:, :3], timespans=ts[:, :3])
    y_rest, h_rest = model(x[:, 3:], h_half, ts[:, 3:])
    torch.testing.assert_close(y_rest, y_seq[:, 3:])
    torch.testing.assert_close(h_rest, h_seq)


@pytest.mark.parametrize("kind", KINDS)
def test_layouts_agree(kind):
    x = torch.randn(2, 5, INPUTS)
    ts = torch.rand(2, 5) + 0.1
    first = make_model(kind)
    time_major = make_model(kind, batch_first=False)
    last_only = make_model(kind, return_sequences=False)
    y, h = first(x, timespans=ts)
    y_tm, h_tm = time_major(x.transpose(0, 1), timespans=ts.transpose(0, 1))
    torch.testing.assert_close(y_tm.transpose(0, 1), y)
    torch.testing.assert_close(h_tm, h)
    y_last, _ = last_only(x, timespans=ts.unsqueeze(-1))
    torch.testing.assert_close(y_last, y[:, -1])
    y_unbatched, h_unbatched = first(x[0], timespans=ts[0])
    torch.testing.assert_close(y_unbatched, y[0])
    torch.testing.assert_close(h_unbatched, h[0])
    y_tm1, _ = time_major(x[0], timespans=ts[0])
    torch.testing.assert_close(y_tm1, y[0])


def test_default_timespan_is_one_second_and_scalar_dt_broadcasts():
    model = make_model("ltc_wired")
    x = torch.randn(3, 4, INPUTS)
    torch.testing.assert_close(model(x)[0], model(x, timespans=torch.ones(3, 4))[0])
    h = model.initial_state(3)
    y_scalar, _ = model.step(x[:, 0], h, torch.tensor(0.2))
    y_vector, _ = model.step(x[:, 0], h, torch.full((3, 1), 0.2))
    torch.testing.assert_close(y_scalar, y_vector)


def test_dt_changes_the_answer():
    model = make_model("cfc_wired")
    h = model.initial_state(1)
    x = torch.randn(1, INPUTS)
    y_short, _ = model.step(x, h, torch.tensor([0.01]))
    y_long, _ = model.step(x, h, torch.tensor([2.0]))
    assert not torch.allclose(y_short, y_long)


def test_activity_is_in_neuron_id_order():
    wiring = AutoNCP(10, 2, seed=3)
    model = CfC(INPUTS, wiring, mixed_memory=True)
    cell_order = model.rnn_cell.state_neuron_ids
    assert sorted(cell_order) == list(range(10)) and cell_order != list(range(10))
    h = torch.randn(2, model.state_size)
    activity = model.activity(h)
    assert activity.shape == (2, 10)
    for position, neuron in enumerate(cell_order):
        torch.testing.assert_close(activity[:, neuron], h[:, position])
    # The outputs of a wired CfC are the motor neurons, ids 0 and 1.
    y, h_next = model.step(torch.randn(2, INPUTS), model.initial_state(2), torch.ones(2))
    torch.testing.assert_close(model.activity(h_next)[:, :2], y)


def test_initial_state_follows_dtype_and_mixed_memory_width():
    model = make_model("cfc_dense", mixed_memory=True).double()
    h = model.initial_state(3)
    assert h.shape == (3, 12) and h.dtype == torch.float64 and not h.any()


def test_ltc_against_loop_reference():
    """Batched, vectorised LTC against a plain per-neuron float64 loop of the fused solver."""
    torch.manual_seed(1)
    wiring = NCP(3, 2, 1, 2, 1, 2, 1, seed=5)
    model = LTC(2, wiring, ode_unfolds=4).double()
    cell = model.rnn_cell
    p = {k: v.detach().numpy() for k, v in cell.named_parameters()}

    def softplus(a):
        return np.log1p(np.exp(a))

    def reference(x, v, dt):
        x = x * p["input_w"] + p["input_b"]
        units, n_in = v.shape[0], x.shape[0]
        v = v.copy()
        for _ in range(4):
            new_v = np.empty_like(v)
            for j in range(units):
                num = (
                    softplus(p["cm"][j]) / (dt / 4) * v[j] + softplus(p["gleak"][j]) * p["vleak"][j]
                )
                den = softplus(p["cm"][j]) / (dt / 4) + softplus(p["gleak"][j])
                for i in range(n_in):
                    if p["sensory_sparsity_mask"][i, j]:
                        s = 1 / (
                            1 + np.exp(-p["sensory_sigma"][i, j] * (x[i] - p["sensory_mu"][i, j]))
                        )
                        g = softplus(p["sensory_w"][i, j]) * s
                        num += g * p["sensory_erev"][i, j]
                        den += g
                for i in range(units):
                    if p["sparsity_mask"][i, j]:
                        s = 1 / (1 + np.exp(-p["sigma"][i, j] * (v[i] - p["mu"][i, j])))
                        g = softplus(p["w"][i, j]) * s
                        num += g * p["erev"][i, j]
                        den += g
                new_v[j] = num / (den + 1e-8)
            v = new_v
        return v

    x = np.random.default_rng(0).normal(size=(3, 2))
    v0 = np.random.default_rng(1).normal(size=(3, 6))
    dt = np.array([0.3, 1.0, 2.5])
    _, h = model.step(torch.tensor(x), torch.tensor(v0), torch.tensor(dt))
    expected = np.stack([reference(x[b], v0[b], dt[b]) for b in range(3)])
    np.testing.assert_allclose(h.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_ltc_explicit_constraints_clamp():
    model = LTC(INPUTS, 5, implicit_param_constraints=False)
    cell = model.rnn_cell
    with torch.no_grad():
        cell.w.fill_(-1.0)
        cell.cm.fill_(-1.0)
        cell.vleak.fill_(-1.0)
    cell.apply_weight_constraints()
    assert (cell.w == 0).all() and (cell.cm == 0).all() and (cell.vleak == -1).all()


@scripting
@pytest.mark.parametrize("kind", KINDS)
def test_torchscript_compiles_cells_and_wrapper(kind):
    model = make_model(kind, mixed_memory=True, proj_size=2)
    scripted_cell = torch.jit.script(model.rnn_cell)
    scripted = torch.jit.script(model)
    x = torch.randn(3, INPUTS)
    h = model.initial_state(3)
    dt = torch.rand(3, 1) + 0.1
    torch.testing.assert_close(
        scripted_cell(x, h[:, : model.units], dt), model.rnn_cell(x, h[:, : model.units], dt)
    )
    torch.testing.assert_close(scripted.step(x, h, dt), model.step(x, h, dt))
    xs = torch.randn(3, 4, INPUTS)
    torch.testing.assert_close(scripted(xs), model(xs))


@scripting
def test_ncps_cells_do_not_script():
    import ncps.torch as nt

    with pytest.raises(Exception):  # noqa: B017 - any TorchScript frontend error
        torch.jit.script(nt.CfC(INPUTS, 4))


@pytest.mark.parametrize("kind", KINDS)
def test_config_round_trip_rebuilds_same_architecture(kind):
    model = make_model(kind, proj_size=2, mixed_memory=True)
    rebuilt = rnn_from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, INPUTS)
    torch.testing.assert_close(rebuilt(x), model(x))


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: CfC(INPUTS, 4, mode="fast"), "mode"),
        (lambda: CfC(INPUTS, 4, activation="swish"), "activation"),
        (lambda: CfC(INPUTS, AutoNCP(8, 2), backbone_units=4), "backbone_units"),
        (lambda: CfC(INPUTS, 4, backbone_dropout=1.5), "backbone_dropout"),
        (lambda: CfC(INPUTS, 4, proj_size=0), "proj_size"),
        (lambda: LTC(INPUTS, 4, ode_unfolds=0), "ode_unfolds"),
        (lambda: LTC(INPUTS, 4, input_mapping="cubic"), "input_mapping"),
        (lambda: CfCCell(INPUTS, 3, sparsity_mask=np.ones((2, 2))), "sparsity_mask"),
        (lambda: LTCCell(None, FullyConnected(3)), "input_size"),
        (lambda: rnn_from_config({"cell": "gru"}), "cell"),
    ],
)
def test_bad_construction_names_the_key(make, key):
    with pytest.raises(ConfigError, match=key):
        make()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.step(torch.zeros(2, INPUTS + 1), m.initial_state(2), torch.ones(2)), "'x'"),
        (lambda m: m.step(torch.zeros(2, INPUTS), m.initial_state(3), torch.ones(2)), "'h'"),
        (lambda m: m.step(torch.zeros(2, INPUTS), m.initial_state(2), torch.ones(3)), "'dt'"),
        (lambda m: m(torch.zeros(2, 3, INPUTS), timespans=torch.ones(2, 4)), "'timespans'"),
        (lambda m: m(torch.zeros(INPUTS)), "'x'"),
    ],
)
def test_bad_inputs_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call(make_model("cfc_wired"))
