from __future__ import annotations

import json
import pickle
import struct

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from liquid_controller.errors import CheckpointError
from liquid_controller.models.checkpoint import (
    FORMAT_VERSION,
    load_checkpoint,
    save_checkpoint,
)
from liquid_controller.models.policy import (
    LiquidPolicy,
    TorchPolicy,
    default_policy_config,
    default_policy_spec,
)
from liquid_controller.runtime.spec import PolicySpec


def small_policy(cell: str = "cfc", barrier_params: int = 2) -> LiquidPolicy:
    torch.manual_seed(0)
    spec = default_policy_spec(barrier_params=barrier_params).to_dict()
    spec["image"] = {"height": 16, "width": 20, "channels": 3}
    config = default_policy_config(cell=cell, seed=11)
    config["image_encoder"].update(conv_layers=[[4, 3, 2], [4, 3, 2]], features=6)
    return LiquidPolicy(config, PolicySpec.from_dict(spec))


@pytest.fixture
def saved(tmp_path):
    policy = small_policy()
    path = tmp_path / "policy.safetensors"
    save_checkpoint(path, policy, metadata={"run": "unit-test", "epochs": 3})
    return path, policy


def rewrite(path, mutate_tensors=None, mutate_header=None):
    with safe_open(str(path), framework="pt") as reader:
        header = dict(reader.metadata())
        tensors = {k: reader.get_tensor(k) for k in reader.keys()}  # noqa: SIM118
    if mutate_tensors:
        mutate_tensors(tensors)
    if mutate_header:
        mutate_header(header)
    save_file(tensors, str(path), metadata=header)


@pytest.mark.parametrize("cell", ["cfc", "ltc"])
def test_round_trip_restores_everything(tmp_path, cell):
    policy = small_policy(cell)
    path = tmp_path / "p.safetensors"
    save_checkpoint(path, policy, metadata={"dataset": "bag-1"})
    loaded = load_checkpoint(path)
    assert loaded.format_version == FORMAT_VERSION
    assert loaded.metadata == {"dataset": "bag-1"}
    assert loaded.spec == policy.spec
    assert loaded.config == policy.get_config()
    assert not loaded.policy.training
    for name, tensor in policy.state_dict().items():
        torch.testing.assert_close(loaded.policy.state_dict()[name], tensor, rtol=0, atol=0)
    wiring = loaded.config["core"]["wiring"]
    assert wiring["args"]["seed"] == 11
    np.testing.assert_array_equal(
        wiring["adjacency_matrix"], policy.core.rnn_cell.wiring.adjacency_matrix
    )
    a, b = TorchPolicy(policy), TorchPolicy(loaded.policy)
    rng = np.random.default_rng(0)
    for _ in range(3):
        obs = {
            "imu": rng.normal(size=6),
            "image": rng.integers(0, 256, size=(16, 20, 3), dtype=np.uint8),
        }
        out_a, out_b = a.step(obs, 0.05), b.step(obs, 0.05)
        np.testing.assert_array_equal(out_a.action, out_b.action)
        np.testing.assert_array_equal(out_a.barrier_params, out_b.barrier_params)


def test_wiring_is_restored_from_the_file_not_regenerated(tmp_path):
    policy = small_policy()
    wiring = policy.config["core"]["wiring"]
    # A hand-pruned synapse must survive: the loader uses stored matrices, not the seed.
    row = np.array(wiring["adjacency_matrix"])
    src, dest = np.argwhere(row != 0)[0]
    row[src, dest] = 0
    wiring["adjacency_matrix"] = row.tolist()
    pruned = LiquidPolicy(policy.get_config(), policy.spec)
    path = tmp_path / "pruned.safetensors"
    save_checkpoint(path, pruned)
    restored = load_checkpoint(path).config["core"]["wiring"]["adjacency_matrix"]
    assert restored[src][dest] == 0


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_not_a_checkpoint_at_all(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, robot\n" * 10)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(path)


def test_pickle_file_is_rejected_without_running_it(tmp_path):
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(path)
    assert not marker.exists()


def test_plain_safetensors_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="not a liquid_controller policy checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_file(saved, keep):
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_corrupt_header_length(saved):
    path, _ = saved
    data = bytearray(path.read_bytes())
    data[:8] = struct.pack("<Q", 2**40)
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(path)


def test_version_from_the_future(saved):
    path, _ = saved
    rewrite(path, mutate_header=lambda h: h.update(format_version=str(FORMAT_VERSION + 1)))
    with pytest.raises(
        CheckpointError, match=f"format version {FORMAT_VERSION + 1} is from a newer"
    ):
        load_checkpoint(path)


@pytest.mark.parametrize("key", ["config", "spec", "metadata", "format_version"])
def test_missing_metadata_key(saved, key):
    path, _ = saved
    rewrite(path, mutate_header=lambda h: h.pop(key))
    with pytest.raises(CheckpointError, match=f"missing metadata key '{key}'"):
        load_checkpoint(path)


def test_malformed_json(saved):
    path, _ = saved
    rewrite(path, mutate_header=lambda h: h.update(config="{not json"))
    with pytest.raises(CheckpointError, match="'config': not valid JSON"):
        load_checkpoint(path)


def test_invalid_spec_and_config_are_named(saved):
    path, _ = saved

    def drop_action(h):
        spec = json.loads(h["spec"])
        del spec["action"]
        h["spec"] = json.dumps(spec)

    rewrite(path, mutate_header=drop_action)
    with pytest.raises(CheckpointError, match="missing key 'action'"):
        load_checkpoint(path)

    path2 = path.with_name("second.safetensors")
    save_checkpoint(path2, small_policy())

    def bad_conv(h):
        config = json.loads(h["config"])
        config["image_encoder"]["conv_layers"][0] = [4, 99, 1]
        h["config"] = json.dumps(config)

    rewrite(path2, mutate_header=bad_conv)
    with pytest.raises(CheckpointError, match=r"invalid architecture config.*conv_layers\[0\]"):
        load_checkpoint(path2)


def test_missing_tensor(saved):
    path, _ = saved
    rewrite(path, mutate_tensors=lambda t: t.pop("action_head.weight"))
    with pytest.raises(CheckpointError, match=r"missing tensor\(s\) \['action_head.weight'\]"):
        load_checkpoint(path)


def test_unexpected_tensor(saved):
    path, _ = saved
    rewrite(path, mutate_tensors=lambda t: t.update(extra_head=torch.zeros(3)))
    with pytest.raises(CheckpointError, match="unexpected tensor.*extra_head"):
        load_checkpoint(path)


def test_shape_mismatch_names_tensor_and_both_shapes(saved):
    path, _ = saved
    rewrite(path, mutate_tensors=lambda t: t.update({"action_head.bias": torch.zeros(5)}))
    with pytest.raises(
        CheckpointError,
        match=r"'action_head.bias' has shape \(5,\) in the file; the architecture expects \(2,\)",
    ):
        load_checkpoint(path)


def test_non_finite_weights(saved):
    path, _ = saved

    def poison(t):
        t["action_head.bias"] = torch.tensor([0.0, float("nan")])

    rewrite(path, mutate_tensors=poison)
    with pytest.raises(CheckpointError, match="'action_head.bias' has 1 non-finite"):
        load_checkpoint(path)


def test_metadata_must_be_json_able(tmp_path):
    with pytest.raises(CheckpointError, match="JSON-able"):
        save_checkpoint(tmp_path / "x.safetensors", small_policy(), metadata={"f": object()})
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination(tmp_path):
    with pytest.raises(CheckpointError, match="cannot write"):
        save_checkpoint(tmp_path / "missing-dir" / "x.safetensors", small_policy())
