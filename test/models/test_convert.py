from __future__ import annotations

import ncps.torch as nt
import ncps.wirings as nw
import numpy as np
import pytest
import torch

from liquid_controller.errors import ConfigError
from liquid_controller.models.convert import from_ncps, wiring_from_ncps
from liquid_controller.models.sequence import LTC, CfC
from liquid_controller.models.wiring import NCP, AutoNCP

INPUTS = 5


def ncps_cfc(**kwargs):
    return lambda: nt.CfC(INPUTS, 8, **kwargs)


def ncps_wired_cfc(wiring, **kwargs):
    return lambda: nt.CfC(INPUTS, wiring(), **kwargs)


CASES = {
    "cfc_default": ncps_cfc(),
    "cfc_pure": ncps_cfc(mode="pure"),
    "cfc_no_gate": ncps_cfc(mode="no_gate"),
    "cfc_backbone_3_silu_dropout": ncps_cfc(
        activation="silu", backbone_units=16, backbone_layers=3, backbone_dropout=0.1
    ),
    "cfc_no_backbone_gelu": ncps_cfc(activation="gelu", backbone_layers=0),
    "cfc_mixed_proj": ncps_cfc(mixed_memory=True, proj_size=3),
    "cfc_time_major_last": ncps_cfc(batch_first=False, return_sequences=False),
    "wired_cfc_default": ncps_wired_cfc(lambda: nw.AutoNCP(12, 3, seed=5)),
    "wired_cfc_pure": ncps_wired_cfc(lambda: nw.AutoNCP(12, 3, seed=6), mode="pure"),
    "wired_cfc_no_gate_mixed_proj": ncps_wired_cfc(
        lambda: nw.NCP(4, 3, 2, 2, 2, 3, 2, seed=7), mode="no_gate", mixed_memory=True, proj_size=4
    ),
    "ltc_dense": lambda: nt.LTC(INPUTS, 6),
    "ltc_wired": lambda: nt.LTC(INPUTS, nw.AutoNCP(12, 3, seed=8)),
    "ltc_wired_mixed_explicit": lambda: nt.LTC(
        INPUTS, nw.AutoNCP(10, 2), mixed_memory=True, implicit_param_constraints=False
    ),
    "ltc_linear_mapping_unfolds": lambda: nt.LTC(
        INPUTS,
        nw.Random(6, 2, sparsity_level=0.3),
        input_mapping="linear",
        output_mapping=None,
        ode_unfolds=3,
    ),
}


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Perturb every weight so the test does not rest on ncps's special initial values."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.requires_grad:
                param.add_(0.1 * torch.randn(param.shape, generator=gen))
                if name.endswith(("cm", "gleak", "w", "sensory_w")) and "rnn_cell" in name:
                    param.abs_()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_outputs_match_ncps(case, seed):
    torch.manual_seed(seed)
    theirs = CASES[case]().eval()
    _randomise(theirs, seed)
    ours = from_ncps(theirs)
    assert type(ours) is (LTC if case.startswith("ltc") else CfC)
    assert not ours.training
    gen = torch.Generator().manual_seed(100 + seed)
    steps = 12
    x = torch.randn(1, steps, INPUTS, generator=gen)
    timespans = 0.05 + 1.5 * torch.rand(1, steps, generator=gen)
    if not theirs.batch_first:
        x, timespans = x.transpose(0, 1), timespans.transpose(0, 1)
    with torch.no_grad():
        y_theirs, h_theirs = theirs(x, timespans=timespans)
        y_ours, h_ours = ours(x, timespans=timespans)
    torch.testing.assert_close(y_ours, y_theirs, rtol=0, atol=1e-5)
    if isinstance(h_theirs, tuple):
        h_theirs = torch.cat(h_theirs, dim=-1)
    torch.testing.assert_close(h_ours, h_theirs, rtol=0, atol=1e-5)


def test_carried_state_matches_ncps_mixed_memory():
    theirs = nt.CfC(INPUTS, nw.AutoNCP(9, 2, seed=2), mixed_memory=True)
    ours = from_ncps(theirs)
    x = torch.randn(1, 4, INPUTS)
    ts = torch.rand(1, 4) + 0.1
    h0, c0 = torch.randn(1, 9), torch.randn(1, 9)
    y_theirs, _ = theirs(x, (h0, c0), ts)
    y_ours, _ = ours(x, torch.cat([h0, c0], dim=1), ts)
    torch.testing.assert_close(y_ours, y_theirs, rtol=0, atol=1e-5)


def test_unbatched_input_matches_ncps():
    theirs = nt.LTC(INPUTS, nw.AutoNCP(10, 2, seed=3))
    ours = from_ncps(theirs)
    x, ts = torch.randn(7, INPUTS), torch.rand(7) + 0.1
    torch.testing.assert_close(
        ours(x, timespans=ts)[0], theirs(x, timespans=ts)[0], atol=1e-5, rtol=0
    )


def test_dtype_and_training_mode_carry_over():
    theirs = nt.CfC(INPUTS, 4).double().train()
    ours = from_ncps(theirs)
    assert ours.training
    assert all(p.dtype == torch.float64 for p in ours.parameters())
    assert ours.initial_state(1).dtype == torch.float64


def test_wiring_conversion_is_exact_and_keeps_seed():
    theirs = nw.AutoNCP(15, 4, sparsity_level=0.3, seed=42)
    theirs.build(6)
    ours = wiring_from_ncps(theirs)
    assert isinstance(ours, AutoNCP) and ours.seed == 42
    np.testing.assert_array_equal(ours.adjacency_matrix, theirs.adjacency_matrix)
    np.testing.assert_array_equal(ours.sensory_adjacency_matrix, theirs.sensory_adjacency_matrix)
    plain = nw.NCP(4, 3, 2, 2, 2, 3, 2, seed=7)
    plain.build(3)
    converted = wiring_from_ncps(plain)
    assert isinstance(converted, NCP) and converted.seed is None
    np.testing.assert_array_equal(converted.adjacency_matrix, plain.adjacency_matrix)


def test_rejects_other_modules():
    with pytest.raises(ConfigError, match="module"):
        from_ncps(torch.nn.LSTM(3, 4))
    with pytest.raises(ConfigError, match="wiring"):
        wiring_from_ncps(object())
