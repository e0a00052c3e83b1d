"""Artifact file: round trips, and every way a bad file fails with a clear CheckpointError."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.artifact import (
    CONFIG_KEY,
    FORMAT_NAME,
    FORMAT_VERSION,
    load_artifact,
    save_artifact,
)
from liquid_controller.runtime.core import load_core

array_names = st.from_regex(r"[a-z][a-z0-9_.]{0,20}", fullmatch=True)
float_arrays = st.sampled_from([np.float32, np.float64, np.int64]).flatmap(
    lambda dtype: hnp.arrays(
        dtype=dtype,
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
        elements=hnp.from_dtype(np.dtype(dtype), allow_nan=False, allow_infinity=False),
    )
)

# The stress profile (HYPOTHESIS_PROFILE=stress) runs many more examples.
STRESS = settings().max_examples > 1000


@settings(max_examples=2000 if STRESS else 25)
@given(arrays=st.dictionaries(array_names, float_arrays, max_size=4), value=st.integers())
def test_round_trip_is_exact(tmp_path_factory, arrays, value) -> None:
    path = tmp_path_factory.mktemp("rt") / "a.npz"
    save_artifact(path, kind="core", config={"core": {"value": value}}, arrays=arrays)
    loaded = load_artifact(path)
    assert loaded.config["core"] == {"value": value}
    assert loaded.config["format_version"] == FORMAT_VERSION
    assert loaded.kind == "core"
    assert set(loaded.arrays) == set(arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded.arrays[name], array)
        assert loaded.arrays[name].dtype == array.dtype


def _write_raw(path, config, **arrays) -> None:
    entries = dict(arrays)
    if config is not None:
        entries[CONFIG_KEY] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **entries)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="no such artifact file"):
        load_artifact(tmp_path / "nope.npz")


def test_not_a_zip(tmp_path) -> None:
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a liquid_controller artifact"):
        load_artifact(path)


def test_npz_without_config(tmp_path) -> None:
    _write_raw(tmp_path / "a.npz", None, w=np.zeros(3))
    with pytest.raises(CheckpointError, match="no '__config__' entry"):
        load_artifact(tmp_path / "a.npz")


def test_other_format(tmp_path) -> None:
    _write_raw(tmp_path / "a.npz", {"format": "something-else", "format_version": 1})
    with pytest.raises(CheckpointError, match="format 'something-else'"):
        load_artifact(tmp_path / "a.npz")


def test_version_from_the_future(tmp_path) -> None:
    config = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION + 1, "kind": "core"}
    _write_raw(tmp_path / "a.npz", config)
    with pytest.raises(CheckpointError, match=f"format_version {FORMAT_VERSION + 1} is newer"):
        load_artifact(tmp_path / "a.npz")


def test_unknown_kind(tmp_path) -> None:
    _write_raw(tmp_path / "a.npz", {"format": FORMAT_NAME, "format_version": 1, "kind": "x"})
    with pytest.raises(CheckpointError, match="'kind' is 'x'"):
        load_artifact(tmp_path / "a.npz")


def test_pickled_entry_is_refused_not_executed(tmp_path) -> None:
    path = tmp_path / "evil.npz"
    config = {"format": FORMAT_NAME, "format_version": 1, "kind": "core"}
    _write_raw(path, config, payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="'payload.npy' has dtype object"):
        load_artifact(path)


def test_truncated_file(tmp_path) -> None:
    path = tmp_path / "a.npz"
    save_artifact(path, kind="core", config={}, arrays={"w": np.ones(1000)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_artifact(path)
    assert zipfile.is_zipfile(path) is False


def _tiny_cfc_config() -> dict:
    return {
        "type": "cfc",
        "input_size": 2,
        "units": 3,
        "mode": "pure",
        "wired": False,
        "backbone_layers": 0,
        "mixed_memory": False,
        "proj_size": None,
    }


def _tiny_cfc_arrays() -> dict:
    return {
        "core.cell.layer0.ff1.weight": np.zeros((3, 5)),
        "core.cell.layer0.ff1.bias": np.zeros(3),
        "core.cell.layer0.w_tau": np.zeros((1, 3)),
        "core.cell.layer0.A": np.ones((1, 3)),
    }


def test_missing_array_is_named(tmp_path) -> None:
    arrays = _tiny_cfc_arrays()
    del arrays["core.cell.layer0.w_tau"]
    save_artifact(
        tmp_path / "a.npz", kind="core", config={"core": _tiny_cfc_config()}, arrays=arrays
    )
    with pytest.raises(CheckpointError, match="missing array 'core.cell.layer0.w_tau'"):
        load_core(tmp_path / "a.npz")


def test_shape_mismatch_is_named(tmp_path) -> None:
    arrays = _tiny_cfc_arrays()
    arrays["core.cell.layer0.ff1.weight"] = np.zeros((3, 4))
    save_artifact(
        tmp_path / "a.npz", kind="core", config={"core": _tiny_cfc_config()}, arrays=arrays
    )
    with pytest.raises(
        CheckpointError,
        match=r"'core.cell.layer0.ff1.weight' has shape \(3, 4\); expected \(3, 5\)",
    ):
        load_core(tmp_path / "a.npz")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("mode", "fast", "'core.mode' is 'fast'; expected one of"),
        ("input_size", 0, "'core.input_size' is 0; expected an integer in \\[1, 65536\\]"),
        ("wired", "yes", "'core.wired' is 'yes'; expected true or false"),
        ("type", "gru", "'core.type' is 'gru'"),
    ],
)
def test_bad_config_value_is_named(tmp_path, key, value, message) -> None:
    config = _tiny_cfc_config()
    config[key] = value
    save_artifact(
        tmp_path / "a.npz", kind="core", config={"core": config}, arrays=_tiny_cfc_arrays()
    )
    with pytest.raises(CheckpointError, match=message):
        load_core(tmp_path / "a.npz")


def test_tiny_pure_cfc_steps(tmp_path) -> None:
    """With zero weights, pure mode gives h' = A (1 - exp(0) * 0) = A = 1."""
    save_artifact(
        tmp_path / "a.npz",
        kind="core",
        config={"core": _tiny_cfc_config()},
        arrays=_tiny_cfc_arrays(),
    )
    core = load_core(tmp_path / "a.npz")
    np.testing.assert_array_equal(core.step([0.5, -0.5], 0.1), np.ones(3))


def test_policy_artifact_is_not_a_core(tmp_path) -> None:
    save_artifact(tmp_path / "a.npz", kind="policy", config={}, arrays={})
    with pytest.raises(CheckpointError, match="kind is 'policy'; expected 'core'"):
        load_core(tmp_path / "a.npz")


def test_save_refuses_object_arrays(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="array 'x' has dtype object"):
        save_artifact(tmp_path / "a.npz", kind="core", config={}, arrays={"x": np.array([None])})


def test_an_artifact_too_large_to_load_is_not_written(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("liquid_controller.runtime.artifact.MAX_MODEL_BYTES", 1000)
    with pytest.raises(CheckpointError, match="1000 bytes"):
        save_artifact(tmp_path / "a.npz", kind="core", config={}, arrays={"w": np.zeros(200)})
    assert not (tmp_path / "a.npz").exists()
