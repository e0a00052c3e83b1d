"""The preprocessed dataset on disk: memory-mapped ``.npy`` arrays keyed by bags and config.

Layout of ``<cache_dir>/<key>/``: one ``.npy`` per quantity (``t_s``, ``dt_s``,
``action``, ``obs.<key>``), the episodes of every split concatenated along the first
axis; ``manifest.json`` (format version, the key's inputs, the episodes' names, splits
and row ranges, action names, vector fields, image shape) and ``statistics.json``.

The key is a SHA-256 of the format version, the config's data-shaping settings and the
content digest of every bag (:func:`~liquid_controller.train.bag_files.bag_digest`), so a
changed bag or setting gets a new entry. An entry is written into a temporary folder
beside it and renamed into place only when complete; a crash leaves at most a
``.tmp-*`` folder, never a half-written entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from liquid_controller.errors import DatasetError
from liquid_controller.train.episodes import DatasetSplits, Episode
from liquid_controller.train.splits import SPLIT_NAMES

__all__ = [
    "FORMAT_VERSION",
    "cache_key",
    "load_entry",
    "stage_episode",
    "staging_folder",
    "write_entry",
]

FORMAT_VERSION = 2
_MANIFEST = "manifest.json"
_STATISTICS = "statistics.json"


def cache_key(settings: Mapping[str, Any], bags: Sequence[tuple[str, str]]) -> str:
    """Return the entry name for ``settings`` (JSON-able) and ``(bag name, digest)`` pairs."""
    payload = json.dumps(
        {"format": FORMAT_VERSION, "settings": settings, "bags": [list(b) for b in bags]},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _arrays(episode: Episode) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"t_s": episode.t_s, "dt_s": episode.dt_s}
    arrays["action"] = episode.action
    arrays.update({f"obs.{key}": value for key, value in episode.observations.items()})
    return arrays


@contextlib.contextmanager
def staging_folder(cache_dir: Path) -> Iterator[Path]:
    """Yield a temporary folder in ``cache_dir`` for a build's intermediate arrays; removed after.

    Raises:
        DatasetError: the cache folder cannot be written.
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_dir))
    except OSError as err:
        raise DatasetError(f"cache_dir {cache_dir}: cannot be written: {err}") from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stage_episode(episode: Episode, folder: Path) -> Episode:
    """Write an episode's arrays to ``folder`` and return it with memory-mapped arrays.

    A build stages every bag's episodes as soon as they are aligned, so that it holds
    one bag's decoded data in memory at a time, not the whole dataset's.
    """
    mapped = {}
    for name, array in _arrays(episode).items():
        path = folder / f"{episode.name}.{name}.npy"  # episode names are unique
        try:
            np.save(path, array)
        except OSError as err:
            raise DatasetError(f"cache_dir {folder.parent}: cannot be written: {err}") from None
        mapped[name] = np.load(path, mmap_mode="r")
    return Episode(
        name=episode.name,
        t_s=mapped["t_s"],
        dt_s=mapped["dt_s"],
        observations={k[4:]: v for k, v in mapped.items() if k.startswith("obs.")},
        action=mapped["action"],
    )


def write_entry(
    cache_dir: Path, key: str, splits: DatasetSplits, inputs: Mapping[str, Any]
) -> Path:
    """Write ``splits`` as entry ``key`` atomically and return the entry's folder.

    When another process finished the same entry first, its copy is kept.

    Raises:
        DatasetError: the cache folder cannot be written.
    """
    final = cache_dir / key
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=cache_dir))
    except OSError as err:
        raise DatasetError(f"cache_dir {cache_dir}: cannot be written: {err}") from None
    try:
        episodes = [(split, e) for split in SPLIT_NAMES for e in splits.split(split)]
        total = sum(len(e) for _, e in episodes)
        template = _arrays(episodes[0][1])
        outputs = {
            name: np.lib.format.open_memmap(
                temporary / f"{name}.npy",
                mode="w+",
                dtype=array.dtype,
                shape=(total, *array.shape[1:]),
            )
            for name, array in template.items()
        }
        rows = []
        start = 0
        for split, episode in episodes:
            stop = start + len(episode)
            for name, array in _arrays(episode).items():
                outputs[name][start:stop] = array
            rows.append({"name": episode.name, "split": split, "start": start, "stop": stop})
            start = stop
        for output in outputs.values():
            output.flush()
        del outputs
        manifest = {
            "format": FORMAT_VERSION,
            "inputs": dict(inputs),
            "episodes": rows,
            "arrays": sorted(template),
            "action_names": list(splits.action_names),
            "vector_fields": {k: list(v) for k, v in splits.vector_fields.items()},
            "image_shape": None if splits.image_shape is None else list(splits.image_shape),
            "image_crop": None if splits.image_crop is None else list(splits.image_crop),
        }
        (temporary / _STATISTICS).write_text(json.dumps(splits.statistics, indent=2))
        (temporary / _MANIFEST).write_text(json.dumps(manifest, indent=2))
        try:
            os.rename(temporary, final)
        except OSError:
            if not (final / _MANIFEST).is_file():
                raise
            shutil.rmtree(temporary, ignore_errors=True)
    except OSError as err:
        shutil.rmtree(temporary, ignore_errors=True)
        raise DatasetError(f"cache_dir {cache_dir}: cannot be written: {err}") from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def load_entry(entry: Path) -> DatasetSplits | None:
    """Return the dataset of a cache entry with memory-mapped arrays, or ``None`` if absent.

    Raises:
        DatasetError: the entry exists but is unreadable (delete the folder to rebuild).
    """
    manifest_path = entry / _MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT_VERSION:
            return None
        statistics = json.loads((entry / _STATISTICS).read_text())
        arrays = {
            name: np.load(entry / f"{name}.npy", mmap_mode="r") for name in manifest["arrays"]
        }
        episodes: dict[str, list[Episode]] = {split: [] for split in SPLIT_NAMES}
        for row in manifest["episodes"]:
            part = slice(row["start"], row["stop"])
            episodes[row["split"]].append(
                Episode(
                    name=row["name"],
                    t_s=arrays["t_s"][part],
                    dt_s=arrays["dt_s"][part],
                    observations={
                        name[4:]: array[part]
                        for name, array in arrays.items()
                        if name.startswith("obs.")
                    },
                    action=arrays["action"][part],
                )
            )
        image_shape = manifest["image_shape"]
        return DatasetSplits(
            train=tuple(episodes["train"]),
            validation=tuple(episodes["validation"]),
            test=tuple(episodes["test"]),
            action_names=tuple(manifest["action_names"]),
            vector_fields={k: tuple(v) for k, v in manifest["vector_fields"].items()},
            image_shape=None if image_shape is None else tuple(image_shape),
            statistics=statistics,
            image_crop=None if manifest["image_crop"] is None else tuple(manifest["image_crop"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(
            f"cache entry {entry} is unreadable ({type(err).__name__}: {err}); delete it to rebuild"
        ) from None
