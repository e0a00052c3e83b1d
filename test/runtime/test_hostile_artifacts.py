"""Hostile ``.npz`` artifacts: every one is a CheckpointError naming the file and the entry.

Each file is small on disk and is rejected before anything sized by its claims is
allocated; the claims are far beyond memory (terabytes), so reading them eagerly, as
the reader once did, fails with a raw MemoryError instead of allocating.
"""

from __future__ import annotations

import copy
import json
import struct
import zipfile

import numpy as np
import pytest
import torch
from hostile_json import HOSTILE_VALUES, json_paths, replaced
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.cli import main
from liquid_controller.errors import CheckpointError
from liquid_controller.models.export import export_policy
from liquid_controller.models.policy import LiquidPolicy, default_policy_config, default_policy_spec
from liquid_controller.runtime import RuntimePolicy, load_artifact, load_core
from liquid_controller.runtime.artifact import CONFIG_KEY
from liquid_controller.runtime.spec import PolicySpec

# The stress profile (HYPOTHESIS_PROFILE=stress) runs many more examples.
STRESS = settings().max_examples > 1000


@pytest.fixture(scope="module")
def exported_file(tmp_path_factory):
    """A small valid policy artifact: its path, config and arrays (read with numpy)."""
    torch.manual_seed(0)
    spec = default_policy_spec(barrier_params=2).to_dict()
    spec["image"] = {"height": 16, "width": 20, "channels": 3}
    config = default_policy_config(seed=3)
    config["image_encoder"].update(conv_layers=[[4, 3, 2], [4, 3, 2]], features=6)
    path = tmp_path_factory.mktemp("artifact") / "policy.npz"
    export_policy(LiquidPolicy(config, PolicySpec.from_dict(spec)), path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop(CONFIG_KEY).tobytes())
    return path, header, arrays


@pytest.fixture
def exported(exported_file):
    """The artifact's path, and copies of its config and arrays for a test to alter."""
    path, header, arrays = exported_file
    return path, copy.deepcopy(header), dict(arrays)


def _write(path, header, arrays, *, compress: bool = False) -> None:
    entries = dict(arrays)
    entries[CONFIG_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        (np.savez_compressed if compress else np.savez)(handle, **entries)


def _npy_member(shape: tuple[int, ...], data: bytes, dtype: str = "<f8") -> bytes:
    """An ``.npy`` file whose header declares ``shape`` whatever ``data`` holds."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def _rejected(path, *fragments: str) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        RuntimePolicy.load(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return info.value


def test_the_valid_artifact_loads(exported) -> None:
    path, header, arrays = exported
    policy = RuntimePolicy.load(path)
    assert policy.spec.image is not None and policy.spec.image.height == 16


def test_unknown_entry_is_rejected_without_reading_it(exported, tmp_path) -> None:
    _, header, arrays = exported
    _write(tmp_path / "a.npz", header, {**arrays, "junk": np.zeros(1 << 20)}, compress=True)
    _rejected(tmp_path / "a.npz", "unknown entries ['junk']")


def test_header_claiming_1e12_elements_is_rejected_before_its_data(exported, tmp_path) -> None:
    _, header, arrays = exported
    path = tmp_path / "a.npz"
    _write(path, header, arrays)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("huge.npy", _npy_member((10**6, 10**6), b"\0" * 16))
    error = _rejected(path, "'huge.npy'", "header declares shape (1000000, 1000000)")
    assert "holds 16 bytes" in str(error)


def test_named_entry_with_a_lying_header_is_rejected(exported, tmp_path) -> None:
    _, header, arrays = exported
    path = tmp_path / "a.npz"
    _write(path, header, {k: v for k, v in arrays.items() if k != "action_head.bias"})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("action_head.bias.npy", _npy_member((2 << 40,), b"\0" * 8))
    _rejected(path, "'action_head.bias.npy'", "header declares shape")


def test_object_entry_is_refused_by_its_header(exported, tmp_path) -> None:
    _, header, arrays = exported
    path = tmp_path / "a.npz"
    _write(path, header, arrays)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("evil.npy", _npy_member((1,), b"\0" * 8, dtype="|O"))
    _rejected(path, "'evil.npy' has dtype object")


def test_decompressed_size_is_capped(exported, tmp_path, monkeypatch) -> None:
    _, header, arrays = exported
    path = tmp_path / "a.npz"
    _write(path, header, {**arrays, "zeros": np.zeros(1 << 20)}, compress=True)
    assert path.stat().st_size < 100_000  # 8 MiB of zeros, compressed
    monkeypatch.setattr("liquid_controller.runtime.artifact.MAX_MODEL_BYTES", 4 << 20)
    _rejected(path, f"entries decompress to more than {4 << 20} bytes", "'zeros.npy'")


def test_zip_directory_is_capped(exported, tmp_path) -> None:
    _, header, arrays = exported
    path = tmp_path / "a.npz"
    _write(path, header, arrays)
    with zipfile.ZipFile(path, "a") as archive:
        for index in range(5000):
            archive.writestr(f"e{index}.npy", b"")
    _rejected(path, "zip directory of", "at most 4096 entries")


def test_spec_image_of_a_million_squared_is_rejected(exported, tmp_path) -> None:
    _, header, arrays = exported
    header["spec"]["image"] = {"height": 10**6, "width": 10**6, "channels": 3}
    _write(tmp_path / "a.npz", header, arrays)
    _rejected(tmp_path / "a.npz", "'image.height' is 1000000; expected an integer in [1, 4096]")


def test_conv_stack_over_the_activation_cap_is_rejected(exported, tmp_path) -> None:
    _, header, arrays = exported
    header["spec"]["image"] = {"height": 4096, "width": 4096, "channels": 3}
    header["policy"]["image_encoder"]["conv_layers"] = [[4096, 1, 1]]
    _write(tmp_path / "a.npz", header, arrays)
    _rejected(tmp_path / "a.npz", "policy.image_encoder.conv_layers[0]", "at most 67108864")


def test_core_size_claim_is_capped_before_buffers(exported, tmp_path) -> None:
    _, header, arrays = exported
    header["policy"]["core"]["input_size"] = 10**12
    _write(tmp_path / "a.npz", header, arrays)
    _rejected(tmp_path / "a.npz", "'core.input_size' is 1000000000000")


def test_deeply_nested_config_is_rejected(exported, tmp_path) -> None:
    path = tmp_path / "a.npz"
    text = "[" * 100_000 + "]" * 100_000
    _, _, arrays = exported
    with open(path, "wb") as handle:
        np.savez(handle, **arrays, **{CONFIG_KEY: np.frombuffer(text.encode(), np.uint8)})
    _rejected(path, f"entry '{CONFIG_KEY}'", "nested more than 64 levels")


@pytest.mark.parametrize(
    ("name", "index"), [("action_head.weight", (0, 0)), ("core.cell.layer0.ff1.bias", (1,))]
)
def test_nan_weight_is_rejected_naming_the_entry(exported, tmp_path, name, index) -> None:
    _, header, arrays = exported
    bad = dict(arrays)
    bad[name] = arrays[name].copy()
    bad[name][index] = np.nan
    _write(tmp_path / "a.npz", header, bad)
    _rejected(tmp_path / "a.npz", f"array {name!r}", "1 non-finite value")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e999"])
def test_non_finite_normalisation_mean_is_rejected_naming_it(exported, tmp_path, value) -> None:
    path, header, arrays = exported
    text = json.dumps(header).replace('"mean": [0.0, 0.0, 9.81', f'"mean": [0.0, 0.0, {value}')
    assert value in text
    with open(tmp_path / "a.npz", "wb") as handle:
        np.savez(handle, **arrays, **{CONFIG_KEY: np.frombuffer(text.encode(), np.uint8)})
    _rejected(tmp_path / "a.npz", "'vectors[imu].mean[2]'", "expected a finite number")


def test_bare_core_with_unknown_entry_is_rejected(tmp_path) -> None:
    from liquid_controller.models.export import export_core
    from liquid_controller.models.sequence import CfC

    path = tmp_path / "core.npz"
    export_core(CfC(3, 4), path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop(CONFIG_KEY).tobytes())
    _write(path, header, {**arrays, "core.extra": np.ones(2)})
    with pytest.raises(CheckpointError, match=r"core\.npz: unknown entries \['core\.extra'\]"):
        load_core(path)


def test_artifact_loader_reads_only_what_is_asked(exported) -> None:
    path, _, arrays = exported
    artifact = load_artifact(path)
    assert artifact.names == frozenset(arrays)
    with pytest.raises(CheckpointError, match=r"array 'action_head\.bias' has shape \(2,\)"):
        artifact.array("action_head.bias", (3,))
    with pytest.raises(CheckpointError, match="unknown entries"):
        artifact.check_all_read()


def test_demo_with_a_hostile_model_exits_1_without_traceback(exported, tmp_path, capsys) -> None:
    _, header, arrays = exported
    _write(tmp_path / "a.npz", header, {**arrays, "junk": np.zeros(3)})
    assert main(["demo", "--model", str(tmp_path / "a.npz"), "--seconds", "0.1"]) == 1
    err = capsys.readouterr().err
    assert "unknown entries ['junk']" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("policy", "core", "state_neuron_ids"), ["x"], "'core.state_neuron_ids'"),
        (("policy", "core", "state_neuron_ids"), 7, "'core.state_neuron_ids'"),
        (("policy", "image_encoder", "image_std"), [5e-324] * 3, "image_std"),
        (("spec", "vectors", 0, "std"), [5e-324] * 6, "'vectors[imu].std[0]'"),
        (("policy", "image_encoder", "image_mean"), [10**400] * 3, "image_mean"),
    ],
)
def test_malformed_config_value_is_named(exported, tmp_path, path, value, fragment) -> None:
    _, header, arrays = exported
    _write(tmp_path / "a.npz", replaced(header, path, value), arrays)
    _rejected(tmp_path / "a.npz", fragment)


@settings(max_examples=2000 if STRESS else 40, deadline=None)
@given(data=st.data())
def test_any_config_value_replaced_loads_or_is_a_checkpoint_error(
    exported_file, tmp_path_factory, data
) -> None:
    _, header, arrays = exported_file
    path = data.draw(st.sampled_from(sorted(json_paths(header), key=repr)), label="path")
    value = data.draw(st.sampled_from(HOSTILE_VALUES), label="value")
    target = tmp_path_factory.mktemp("fuzz") / "a.npz"
    _write(target, replaced(header, path, value), arrays)
    try:
        RuntimePolicy.load(target)
    except CheckpointError as err:
        assert str(target) in str(err)
