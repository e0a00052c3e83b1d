"""Hostile checkpoints: every one is a CheckpointError naming the file and the entry.

Architecture claims are checked against the caps and, on torch's meta device, against
the stored tensor shapes before the network is built. The claims below that exceed the
caps are terabytes, so building them eagerly (as the loader once did) fails with a raw
allocation error instead of allocating.
"""

from __future__ import annotations

import json

import pytest
import torch
from hostile_json import HOSTILE_VALUES, json_paths, replaced
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save_file

import liquid_controller.models.checkpoint as checkpoint_module
from liquid_controller.cli import main
from liquid_controller.errors import CheckpointError
from liquid_controller.models.checkpoint import load_checkpoint, save_checkpoint
from liquid_controller.models.policy import LiquidPolicy, default_policy_config, default_policy_spec
from liquid_controller.runtime.spec import PolicySpec

# The stress profile (HYPOTHESIS_PROFILE=stress) runs many more examples.
STRESS = settings().max_examples > 1000


def _save_small_policy(path) -> None:
    torch.manual_seed(0)
    spec = default_policy_spec(barrier_params=2).to_dict()
    spec["image"] = {"height": 16, "width": 20, "channels": 3}
    config = default_policy_config(seed=5)
    config["image_encoder"].update(conv_layers=[[4, 3, 2], [4, 3, 2]], features=6)
    save_checkpoint(path, LiquidPolicy(config, PolicySpec.from_dict(spec)))


@pytest.fixture
def saved(tmp_path):
    _save_small_policy(tmp_path / "policy.ckpt")
    return tmp_path / "policy.ckpt"


def _rewrite(path, key, change) -> None:
    """Set metadata entry ``key`` to ``change`` (a str), or to what ``change`` makes of the
    parsed entry (its result, or the entry changed in place if it returns None)."""
    with safe_open(str(path), framework="pt") as reader:
        header = dict(reader.metadata())
        tensors = {name: reader.get_tensor(name) for name in reader.keys()}  # noqa: SIM118
    if isinstance(change, str):
        header[key] = change
    else:
        value = json.loads(header[key])
        result = change(value)
        header[key] = json.dumps(value if result is None else result)
    save_file(tensors, str(path), metadata=header)


def _rejected(path, *fragments: str) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return info.value


@pytest.fixture
def built_on(monkeypatch):
    """The device type of every LiquidPolicy the checkpoint loader builds, in order."""
    devices: list[str] = []

    def spy(*args, **kwargs):
        policy = LiquidPolicy(*args, **kwargs)
        devices.append(policy.action_head.weight.device.type)
        return policy

    monkeypatch.setattr(checkpoint_module, "LiquidPolicy", spy)
    return devices


def test_valid_checkpoint_is_checked_on_meta_then_built(saved, built_on) -> None:
    load_checkpoint(saved)
    assert built_on == ["meta", "cpu"]


def test_feature_claim_over_the_cap_is_rejected_before_building(saved, built_on) -> None:
    _rewrite(saved, "config", lambda c: c["image_encoder"].update(features=400_000))
    _rejected(saved, "'image_encoder.features': got 400000", "an integer in [1, 65536]")
    assert built_on == []


def test_head_claim_within_the_cap_is_checked_on_meta(saved, built_on) -> None:
    _rewrite(saved, "spec", lambda s: s.update(barrier_params=60_000))
    _rejected(saved, "'barrier_head.weight' has shape (2, 2)", "expects (60000, 2)")
    assert built_on == ["meta"]  # the 60000-wide head only ever existed as shapes


def test_channel_claim_within_the_cap_is_checked_on_meta(saved, built_on) -> None:
    layers = [[2048, 3, 2], [4, 3, 2]]
    _rewrite(saved, "config", lambda c: c["image_encoder"].update(conv_layers=layers))
    _rejected(saved, "'encoder.convs.0.weight' has shape (4, 3, 3, 3)", "(2048, 3, 3, 3)")
    assert built_on == ["meta"]


@pytest.mark.parametrize(
    ("key", "change", "fragments"),
    [
        (
            "config",
            lambda c: c["image_encoder"].update(conv_layers=[[10**9, 3, 2], [4, 3, 2]]),
            ("'image_encoder.conv_layers[0]'", "an integer in [1, 4096]"),
        ),
        (
            "config",
            lambda c: c["core"]["wiring"]["args"].update(units=200_000),
            ("'core.wiring.args.units'", "an integer in [1, 1024]"),
        ),
        (
            "spec",
            lambda s: s.update(image={"height": 10**6, "width": 10**6, "channels": 3}),
            ("'image.height' is 1000000", "[1, 4096]"),
        ),
        (
            "config",
            lambda c: c["core"].update(ode_unfolds=10**9),
            ("'core.ode_unfolds'",),
        ),
    ],
)
def test_oversized_claim_is_rejected_by_the_caps(saved, key, change, fragments) -> None:
    _rewrite(saved, key, change)
    _rejected(saved, *fragments)


def test_saved_wiring_must_carry_its_matrices(saved) -> None:
    _rewrite(saved, "config", lambda c: c["core"]["wiring"].update(adjacency_matrix=None))
    _rejected(saved, "'core.wiring' lacks ['adjacency_matrix']")


@pytest.mark.parametrize("key", ["config", "spec", "metadata"])
def test_deeply_nested_json_is_rejected(saved, key) -> None:
    _rewrite(saved, key, "[" * 100_000 + "]" * 100_000)
    _rejected(saved, f"metadata {key!r}", "nested more than 64 levels")


def test_json_size_is_capped(saved, monkeypatch) -> None:
    monkeypatch.setattr("liquid_controller.runtime.bounded_json.MAX_JSON_BYTES", 1000)
    _rejected(saved, "metadata 'config'", "expected at most 1000")


def test_file_size_is_capped(saved, monkeypatch) -> None:
    monkeypatch.setattr(checkpoint_module, "MAX_MODEL_BYTES", 1000)
    _rejected(saved, "a checkpoint is at most 1000")


@pytest.mark.parametrize(
    ("value", "shown"), [(float("nan"), "nan"), (float("inf"), "inf"), (10**400, "inf")]
)
def test_non_finite_spec_mean_is_rejected_naming_it(saved, value, shown) -> None:
    # json.dumps writes NaN / Infinity / a 401-digit integer
    _rewrite(saved, "spec", lambda spec: replaced(spec, ("vectors", 0, "mean", 1), value))
    _rejected(saved, f"'vectors[imu].mean[1]' is {shown}", "expected a finite number")


def test_damaged_npz_is_named_as_an_artifact(tmp_path) -> None:
    path = tmp_path / "policy.npz"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)  # a zip's first bytes, then nothing valid
    _rejected(path, "not a readable .npz artifact")


def test_export_of_a_hostile_checkpoint_exits_1_without_traceback(saved, capsys) -> None:
    _rewrite(saved, "config", lambda c: c["core"]["wiring"]["args"].update(units=200_000))
    out = saved.with_suffix(".npz")
    assert main(["export", str(saved), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(saved) in err
    assert "'core.wiring.args.units'" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("key", "path", "value", "fragment"),
    [
        ("config", ("core", "wiring", "adjacency_matrix"), [[10**400]], "wiring.adjacency_matrix"),
        ("config", ("core", "wiring", "type"), ["AutoNCP"], "wiring.type"),
        ("config", ("core", "wiring", "args", "seed"), -1, "wiring.args"),
        ("config", ("core", "cell"), {"a": 1}, "core.cell"),
        ("config", ("image_encoder", "image_std"), [5e-324] * 3, "image_encoder.image_std"),
        ("config", ("image_encoder", "image_mean"), [10**400] * 3, "image_encoder.image_mean"),
        ("spec", ("vectors", 0, "std"), [5e-324] * 6, "'vectors[imu].std[0]'"),
    ],
)
def test_malformed_config_value_is_named(saved, key, path, value, fragment) -> None:
    _rewrite(saved, key, lambda document: replaced(document, path, value))
    _rejected(saved, fragment)


@pytest.fixture(scope="module")
def saved_parts(tmp_path_factory):
    """A valid checkpoint's metadata (config and spec parsed) and tensors."""
    path = tmp_path_factory.mktemp("ckpt") / "policy.ckpt"
    _save_small_policy(path)
    with safe_open(str(path), framework="pt") as reader:
        header = dict(reader.metadata())
        tensors = {name: reader.get_tensor(name) for name in reader.keys()}  # noqa: SIM118
    return header, tensors


@settings(max_examples=2000 if STRESS else 40, deadline=None)
@given(data=st.data())
def test_any_config_value_replaced_loads_or_is_a_checkpoint_error(
    saved_parts, tmp_path_factory, data
) -> None:
    header, tensors = saved_parts
    key = data.draw(st.sampled_from(["config", "spec"]), label="key")
    document = json.loads(header[key])
    path = data.draw(st.sampled_from(sorted(json_paths(document), key=repr)), label="path")
    document = replaced(document, path, data.draw(st.sampled_from(HOSTILE_VALUES), label="value"))
    file = tmp_path_factory.mktemp("fuzz") / "policy.ckpt"
    save_file(tensors, str(file), metadata={**header, key: json.dumps(document)})
    try:
        load_checkpoint(file)
    except CheckpointError as err:
        assert str(file) in str(err)


def test_a_checkpoint_too_large_to_load_is_not_written(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(checkpoint_module, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(CheckpointError, match="at most 1000 load"):
        _save_small_policy(tmp_path / "policy.ckpt")
    assert list(tmp_path.iterdir()) == []
