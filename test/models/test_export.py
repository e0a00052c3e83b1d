"""Torch-side export: artifact contents, unsupported models, and the ``export`` command."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from liquid_controller.cli import main
from liquid_controller.errors import CheckpointError
from liquid_controller.models.checkpoint import save_checkpoint
from liquid_controller.models.export import (
    core_arrays,
    export_checkpoint,
    export_policy,
    policy_arrays,
    verify_export,
)
from liquid_controller.models.policy import LiquidPolicy, default_policy_config, default_policy_spec
from liquid_controller.models.sequence import CfC
from liquid_controller.models.wiring import AutoNCP
from liquid_controller.runtime import RuntimePolicy, load_artifact


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(1)
    policy = LiquidPolicy(default_policy_config(cell="ltc"), default_policy_spec(barrier_params=2))
    path = tmp_path_factory.mktemp("ckpt") / "policy.ckpt"
    save_checkpoint(path, policy, metadata={"trained": False})
    return path


def test_wired_cfc_arrays_keep_weights_and_masks() -> None:
    torch.manual_seed(0)
    model = CfC(5, AutoNCP(10, 2, seed=4))
    config, arrays = core_arrays(model)
    assert config["wired"] is True
    assert config["layer_sizes"] == model.rnn_cell.layer_sizes
    assert sorted(config["state_neuron_ids"]) == list(range(10))
    for index, layer in enumerate(model.rnn_cell.layers):
        np.testing.assert_array_equal(
            arrays[f"cell.layer{index}.ff1.weight"], layer.ff1.weight.detach().double().numpy()
        )
        np.testing.assert_array_equal(
            arrays[f"cell.layer{index}.sparsity_mask"], layer.sparsity_mask.double().numpy()
        )


def test_policy_arrays_cover_every_parameter() -> None:
    torch.manual_seed(0)
    policy = LiquidPolicy(default_policy_config(), default_policy_spec(barrier_params=1))
    config, arrays = policy_arrays(policy)
    assert config["spec"] == policy.spec.to_dict()
    assert config["policy"]["image_encoder"]["conv_layers"] == [
        [24, 5, 2],
        [36, 5, 2],
        [48, 3, 2],
        [64, 3, 1],
        [64, 3, 1],
    ]
    exported = sum(a.size for k, a in arrays.items() if not k.endswith("sparsity_mask"))
    trainable = sum(p.numel() for p in policy.parameters() if p.requires_grad)
    assert exported == trainable


def test_padded_convolution_is_refused(tmp_path) -> None:
    torch.manual_seed(0)
    policy = LiquidPolicy(default_policy_config(), default_policy_spec())
    policy.encoder.convs[0] = nn.Conv2d(3, 24, 5, 2, padding=1)
    with pytest.raises(CheckpointError, match="encoder conv 0: the runtime takes square, unpadded"):
        export_policy(policy, tmp_path / "a.npz")


def test_export_checkpoint_records_source_and_verifies(checkpoint, tmp_path) -> None:
    export_checkpoint(checkpoint, tmp_path / "a.npz")
    artifact = load_artifact(tmp_path / "a.npz")
    assert artifact.kind == "policy"
    assert artifact.config["source"]["checkpoint"] == "policy.ckpt"
    assert artifact.config["source"]["metadata"] == {"trained": False}
    assert verify_export(checkpoint, tmp_path / "a.npz", steps=10) < 1e-5


def test_verify_export_catches_a_wrong_artifact(checkpoint, tmp_path) -> None:
    torch.manual_seed(99)  # same architecture, other weights
    other = LiquidPolicy(default_policy_config(cell="ltc"), default_policy_spec(barrier_params=2))
    export_policy(other, tmp_path / "other.npz")
    with pytest.raises(CheckpointError, match="differs from checkpoint"):
        verify_export(checkpoint, tmp_path / "other.npz", steps=3)


def test_export_command_writes_a_loadable_artifact(checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "policy.npz"
    assert main(["export", str(checkpoint), "--out", str(out)]) == 0
    assert "runtime matches the checkpoint" in capsys.readouterr().out
    policy = RuntimePolicy.load(out)
    assert policy.spec.barrier_params == 2


def test_export_command_reports_a_bad_checkpoint(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", str(bad), "--out", str(tmp_path / "a.npz")]) == 1
    err = capsys.readouterr().err
    assert "liquid-controller export: error:" in err and "bad.ckpt" in err
    assert not (tmp_path / "a.npz").exists()
