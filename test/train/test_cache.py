"""train.cache: hits map the stored arrays; a changed bag or config builds a new entry."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from bag_factory import dataset_config, write_synthetic_bag

import liquid_controller.train.dataset as dataset_module
from liquid_controller.errors import DatasetError
from liquid_controller.train.dataset import load_dataset, prepare_dataset

NO_SPLIT = {"validation": 0, "test": 0}


@pytest.fixture
def decode_count(monkeypatch):
    """Count the bags decoded (a cache hit decodes none)."""
    calls = []
    original = dataset_module.read_recording

    def counting(bag, config, *, progress=False):
        calls.append(bag.name)
        return original(bag, config, progress=progress)

    monkeypatch.setattr(dataset_module, "read_recording", counting)
    return calls


def _entries(cache_dir):
    return sorted(p.name for p in cache_dir.iterdir())


def test_second_load_is_a_hit_with_memory_mapped_arrays(tmp_path, decode_count):
    bag = write_synthetic_bag(tmp_path / "run", seconds=1.0).path
    config = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT)
    first = prepare_dataset(config, progress=False)
    second = prepare_dataset(config, progress=False)
    assert (first.cached, second.cached) == (False, True)
    assert decode_count == ["run"]
    assert first.entry == second.entry
    (a,), (b,) = first.splits.train, second.splits.train
    assert isinstance(b.observations["image"], np.memmap)
    for key in a.observations:
        np.testing.assert_array_equal(a.observations[key], b.observations[key])
    np.testing.assert_array_equal(a.action, b.action)
    assert second.splits.statistics == first.splits.statistics
    stored = json.loads((second.entry / "statistics.json").read_text())
    assert stored["before"]["all"]["frames"] == len(b)


def test_changed_bag_content_with_the_same_size_and_mtime_is_a_miss(tmp_path, decode_count):
    bag = write_synthetic_bag(tmp_path / "run", seconds=1.0).path
    config = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT)
    first = prepare_dataset(config, progress=False)
    # Rewrite the same bag with other signals, then restore size and mtime.
    (storage,) = bag.glob("*.mcap")
    stat = storage.stat()
    other = write_synthetic_bag(tmp_path / "other" / "run", seconds=1.0, phase_s=0.5).path
    (replacement,) = other.glob("*.mcap")
    assert replacement.stat().st_size == stat.st_size
    storage.write_bytes(replacement.read_bytes())
    os.utime(storage, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = prepare_dataset(config, progress=False)
    assert not second.cached and second.entry != first.entry
    assert decode_count == ["run", "run"]
    assert not np.array_equal(first.splits.train[0].action, second.splits.train[0].action)


def test_changed_config_is_a_miss_and_cache_dir_does_not_count(tmp_path, decode_count):
    bag = write_synthetic_bag(tmp_path / "run", seconds=1.0).path
    config = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT)
    first = prepare_dataset(config, progress=False)
    changed = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT, rate_hz=10.0)
    assert not prepare_dataset(changed, progress=False).cached
    assert len(_entries(tmp_path / "cache")) == 2
    moved = dataset_config(tmp_path / "e.yaml", [bag], split=NO_SPLIT, cache_dir="cache2")
    assert prepare_dataset(moved, progress=False).entry.name == first.entry.name


def test_a_failed_write_leaves_no_entry_and_no_temporary_folder(tmp_path, monkeypatch):
    bag = write_synthetic_bag(tmp_path / "run", seconds=1.0).path
    config = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT)

    def failing_rename(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("liquid_controller.train.cache.os.rename", failing_rename)
    with pytest.raises(DatasetError, match="cannot be written: .*No space left on device"):
        load_dataset(config, progress=False)
    assert _entries(tmp_path / "cache") == []


def test_an_entry_is_renamed_into_place_only_when_complete(tmp_path, monkeypatch):
    bag = write_synthetic_bag(tmp_path / "run", seconds=1.0).path
    config = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT)
    seen = []
    original = os.rename

    def watching_rename(source, target):
        seen.append(sorted(p.name for p in source.iterdir()))
        assert not os.path.exists(target)
        original(source, target)

    monkeypatch.setattr("liquid_controller.train.cache.os.rename", watching_rename)
    entry = prepare_dataset(config, progress=False).entry
    assert "manifest.json" in seen[0] and "obs.image.npy" in seen[0]
    assert _entries(tmp_path / "cache") == [entry.name]
