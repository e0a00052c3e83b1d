"""Bags -> aligned, split, curated episodes, through the on-disk cache: :func:`load_dataset`.

Steps: find the bags and digest their content; on a cache hit map the stored arrays;
otherwise decode each bag (:mod:`~liquid_controller.train.recording`), align it at the
policy rate (:mod:`~liquid_controller.train.alignment`; one bag gives one or more
episodes, split at gaps), split by episode (:mod:`~liquid_controller.train.splits`),
compute the curation statistics and, when configured, subsample the train split
(:mod:`~liquid_controller.train.curation`; validation and test stay as recorded so that
they measure the robot's real distribution), then write the cache entry and map it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from liquid_controller.errors import DatasetError
from liquid_controller.sensing.imu import IMU_FIELDS
from liquid_controller.train.alignment import align_streams
from liquid_controller.train.bag_files import bag_digest, find_bags
from liquid_controller.train.cache import (
    cache_key,
    load_entry,
    stage_episode,
    staging_folder,
    write_entry,
)
from liquid_controller.train.curation import (
    ActionBins,
    curation_statistics,
    format_statistics,
    subsample_episodes,
)
from liquid_controller.train.dataset_config import DatasetConfig, load_dataset_config
from liquid_controller.train.episodes import DatasetSplits, Episode
from liquid_controller.train.recording import NS_PER_S, Recording, read_recording
from liquid_controller.train.splits import SPLIT_NAMES, split_names

__all__ = [
    "PreparedDataset",
    "format_report",
    "load_dataset",
    "prepare_dataset",
    "recording_episodes",
]


class PreparedDataset(NamedTuple):
    """A dataset and where it lives.

    Attributes:
        splits: the dataset (arrays memory-mapped from the cache entry).
        entry: the cache entry's folder.
        cached: whether it was found in the cache (``False``: decoded now).
    """

    splits: DatasetSplits
    entry: Path
    cached: bool


def _vector_fields(config: DatasetConfig) -> dict[str, tuple[str, ...]]:
    fields: dict[str, tuple[str, ...]] = {}
    if config.topics.imu is not None:
        fields["imu"] = IMU_FIELDS
    if config.topics.joint_states is not None and config.joints is not None:
        for quantity in config.joints.quantities:
            fields[f"joint_{quantity}"] = config.joints.names
    return fields


def recording_episodes(recording: Recording, config: DatasetConfig) -> tuple[list[Episode], int]:
    """Return the bag's episodes at the policy rate and the number of idle ticks left out."""
    roles = list(recording.streams)
    period_ns = round(NS_PER_S / config.rate_hz)
    aligned = align_streams(
        [recording.streams[role].stamps_ns for role in roles],
        period_ns=period_ns,
        gap_ns=round(config.gap_s * NS_PER_S),
    )
    episodes = []
    for number, (start, stop) in enumerate(aligned.episodes):
        if stop - start < config.curation.min_episode_ticks:
            continue
        arrays: dict[str, np.ndarray] = {}
        for role, index in zip(roles, aligned.indices, strict=True):
            for key, values in recording.streams[role].values.items():
                arrays[key] = values[index[start:stop]]
        dt_s = aligned.dt_ns[start:stop] / NS_PER_S
        dt_s[0] = period_ns / NS_PER_S
        episodes.append(
            Episode(
                name=f"{recording.name}#{number}",
                t_s=aligned.ticks_ns[start:stop] / NS_PER_S,
                dt_s=dt_s,
                observations={k: v for k, v in arrays.items() if k != "action"},
                action=arrays["action"],
            )
        )
    if not episodes:
        roles_text = ", ".join(f"topics.{role}" for role in roles)
        raise DatasetError(
            f"bag {recording.name}: no stretch of at least {config.curation.min_episode_ticks} "
            f"ticks where every input ({roles_text}) has a sample no older than gap_s = "
            f"{config.gap_s:g} s"
        )
    return episodes, aligned.idle_ticks


def _statistics(
    groups: dict[str, tuple[Episode, ...]], config: DatasetConfig, bins: ActionBins
) -> dict[str, Any]:
    every = tuple(e for split in SPLIT_NAMES for e in groups[split])
    result = {"all": curation_statistics(every, config.curation, bins, config.actions)}
    for split in SPLIT_NAMES:
        result[split] = curation_statistics(groups[split], config.curation, bins, config.actions)
    return result


def _build(
    config: DatasetConfig, bags: tuple[Path, ...], progress: bool, staging: Path
) -> DatasetSplits:
    """Decode, align (episodes staged in ``staging`` bag by bag), split and curate."""
    episodes: list[Episode] = []
    dropped: dict[str, dict[str, int]] = {}
    idle: dict[str, int] = {}
    damaged: dict[str, str] = {}
    for bag in bags:
        recording = read_recording(bag, config, progress=progress)
        bag_episodes, idle[bag.name] = recording_episodes(recording, config)
        episodes.extend(stage_episode(episode, staging) for episode in bag_episodes)
        dropped[bag.name] = recording.dropped
        if recording.damage is not None:
            damaged[bag.name] = recording.damage
    by_name = {e.name: e for e in episodes}
    names = split_names(list(by_name), config.split)
    groups = {split: tuple(by_name[n] for n in names[split]) for split in SPLIT_NAMES}
    bins = ActionBins(episodes, config.curation.action_bins)
    before = _statistics(groups, config, bins)
    statistics: dict[str, Any] = {
        "before": before,
        "after": None,
        "dropped_non_finite": dropped,
        "idle_ticks": idle,
        "damaged_bags": damaged,
    }
    if config.curation.subsample:
        groups["train"] = subsample_episodes(
            groups["train"],
            config.curation,
            bins,
            period_s=config.period_s,
            gap_s=config.gap_s,
            seed=config.split.seed,
        )
        if not groups["train"]:
            raise DatasetError("curation dropped every train episode; relax the curation options")
        statistics["after"] = _statistics(groups, config, bins)
    image_shape = None
    if config.topics.camera is not None:
        image_shape = (config.image.height, config.image.width, 3)
    splits = DatasetSplits(
        train=groups["train"],
        validation=groups["validation"],
        test=groups["test"],
        action_names=config.actions,
        vector_fields=_vector_fields(config),
        image_shape=image_shape,
        statistics=statistics,
        image_crop=config.image.crop_sides,
    )
    return splits


def format_report(statistics: Mapping[str, Any]) -> str:
    """Return the printable summary of a dataset's statistics: damage, before and after."""
    lines = [
        f"bag {name}: damaged, read up to the damage: {where}"
        for name, where in statistics["damaged_bags"].items()
    ]
    lines.append(format_statistics("before curation", statistics["before"]["all"]))
    if statistics["after"] is not None:
        lines.append(format_statistics("after curation", statistics["after"]["all"]))
    return "\n".join(lines)


def prepare_dataset(
    config: DatasetConfig | str | os.PathLike[str], *, progress: bool = True
) -> PreparedDataset:
    """Return the dataset of ``config`` from the cache, building the entry when missing.

    Args:
        config: a config, or the path of a dataset YAML file.
        progress: show tqdm progress bars (when tqdm is installed) while decoding and
            print the curation statistics of a new build.

    Raises:
        ConfigError: an invalid config or bag path.
        DatasetError: a bag that cannot become a dataset (see
            :func:`~liquid_controller.train.recording.read_recording`), too few episodes
            to split, or an unwritable cache.
    """
    if not isinstance(config, DatasetConfig):
        config = load_dataset_config(config)
    bags = find_bags(config.bags)
    digests = [(bag.name, bag_digest(bag)) for bag in bags]
    settings = config.fingerprint()
    key = cache_key(settings, digests)
    entry = config.cache_dir / key
    cached = load_entry(entry)
    if cached is not None:
        return PreparedDataset(cached, entry, True)
    with staging_folder(config.cache_dir) as staging:
        splits = _build(config, bags, progress, staging)
        if progress:
            print(format_report(splits.statistics))
        inputs = {"settings": settings, "bags": [list(d) for d in digests]}
        entry = write_entry(config.cache_dir, key, splits, inputs)
    loaded = load_entry(entry)
    assert loaded is not None
    return PreparedDataset(loaded, entry, False)


def load_dataset(
    config: DatasetConfig | str | os.PathLike[str], *, progress: bool = True
) -> DatasetSplits:
    """Return the train / validation / test episodes of a dataset config (see the module).

    Args:
        config: a config, or the path of a dataset YAML file.
        progress: progress bars while decoding, statistics printed after a new build.
    """
    return prepare_dataset(config, progress=progress).splits
