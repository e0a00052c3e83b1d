"""Curation statistics of aligned episodes, and subsampling toward diverse data.

Definitions (thresholds from :class:`~liquid_controller.train.dataset_config.CurationConfig`):

- near-duplicate: a tick whose image differs from the previous tick's image of the same
  episode by at most ``duplicate_threshold`` grey levels on average (mean absolute
  difference over pixels and channels). Measured on the ticks the network sees, so a
  camera slower than the policy rate shows up here.
- repeated stretch: a window of ``stretch_ticks`` consecutive ticks whose frame
  fingerprints (4x4 colour thumbnails quantised to 16 levels) equal those of an earlier
  window anywhere in the data (a bag listed twice, a looped recording, a frozen camera);
  the fraction counts the ticks such later windows cover.
- stationary: every action's magnitude at or below ``stationary_action``.
- action histograms: per action, ``action_bins`` equal-width bins over the range of the
  data before curation; entropy in bits, per action and of the joint bin.

Subsampling (``subsample: true``) drops ticks: near-duplicates of the last kept frame,
ticks of repeated stretches, stationary ticks beyond ``max_stationary_s`` of a stationary
run, and runs of over-represented joint action bins (``max_bin_fraction``). A kept tick's
dt then covers the ticks dropped before it; a kept stretch that follows more than
``gap_s`` of dropped time starts a new episode (``"<name>.<k>"``), as a recording gap would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.train.dataset_config import CurationConfig
from liquid_controller.train.episodes import Episode

__all__ = ["ActionBins", "curation_statistics", "format_statistics", "subsample_episodes"]

BoolArray = npt.NDArray[np.bool_]
_THUMB = 4
_LEVELS = 16


class ActionBins:
    """Equal-width bins per action over the data's range; joint bins index all actions."""

    def __init__(self, episodes: Sequence[Episode], bins: int) -> None:
        actions = [e.action for e in episodes if len(e)]
        data = np.concatenate(actions) if actions else np.zeros((0, 0), np.float32)
        self.edges: list[npt.NDArray[np.float64]] = []
        for column in data.T:
            low, high = float(column.min()), float(column.max())
            if high <= low:
                low, high = low - 0.5, high + 0.5
            self.edges.append(np.linspace(low, high, bins + 1))
        self.bins = bins

    def per_action(self, action: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
        """Return ``(T, A)`` bin indices (values outside the range go to the end bins)."""
        columns = [
            np.clip(np.searchsorted(edges, action[:, i], side="right") - 1, 0, self.bins - 1)
            for i, edges in enumerate(self.edges)
        ]
        return np.stack(columns, axis=1) if columns else np.zeros((len(action), 0), np.intp)

    def joint(self, action: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
        """Return ``(T,)`` joint bin indices (row-major over the actions' bins)."""
        per = self.per_action(action)
        return (
            np.ravel_multi_index(tuple(per.T), (self.bins,) * per.shape[1])
            if per.size
            else (np.zeros(len(action), np.intp))
        )


def _entropy_bits(counts: npt.NDArray[np.int64]) -> float:
    total = counts.sum()
    if total == 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


_CHUNK_FRAMES = 512


def _frame_differences(images: np.ndarray) -> npt.NDArray[np.float64]:
    """Return ``(T,)`` mean absolute difference to the previous frame (inf at tick 0)."""
    diffs = np.full(len(images), np.inf)
    for start in range(1, len(images), _CHUNK_FRAMES):
        stop = min(start + _CHUNK_FRAMES, len(images))
        current = np.asarray(images[start:stop], dtype=np.int16)
        previous = np.asarray(images[start - 1 : stop - 1], dtype=np.int16)
        diffs[start:stop] = np.abs(current - previous).mean(axis=(1, 2, 3))
    return diffs


def _fingerprints(images: np.ndarray) -> npt.NDArray[np.uint8]:
    """Return ``(T, rows, cols, 3)`` coarse fingerprints: colour thumbnails, quantised."""
    height, width = images.shape[1:3]
    row_starts = [r[0] for r in np.array_split(np.arange(height), min(_THUMB, height))]
    col_starts = [c[0] for c in np.array_split(np.arange(width), min(_THUMB, width))]
    row_sizes = np.diff([*row_starts, height])[:, None, None]
    col_sizes = np.diff([*col_starts, width])[None, :, None]
    prints = np.empty((len(images), len(row_starts), len(col_starts), 3), dtype=np.uint8)
    for start in range(0, len(images), _CHUNK_FRAMES):
        chunk = np.asarray(images[start : start + _CHUNK_FRAMES], dtype=np.float64)
        sums = np.add.reduceat(np.add.reduceat(chunk, row_starts, axis=1), col_starts, axis=2)
        thumbs = sums / (row_sizes * col_sizes)
        prints[start : start + len(chunk)] = (thumbs * _LEVELS / 256).astype(np.uint8)
    return prints


def _repeated_stretches(episodes: Sequence[Episode], window: int) -> list[BoolArray]:
    """Mark, per episode, the ticks covered by a window that repeats an earlier one."""
    seen: set[bytes] = set()
    marks = []
    for episode in episodes:
        mark = np.zeros(len(episode), dtype=bool)
        if "image" in episode.observations and len(episode) >= window:
            prints = _fingerprints(episode.observations["image"]).reshape(len(episode), -1)
            for start in range(len(episode) - window + 1):
                key = hashlib.blake2b(prints[start : start + window].tobytes(), digest_size=16)
                if key.digest() in seen:
                    mark[start : start + window] = True
                else:
                    seen.add(key.digest())
        marks.append(mark)
    return marks


def _stationary(episode: Episode, config: CurationConfig) -> BoolArray:
    still: BoolArray = np.all(np.abs(episode.action) <= config.stationary_action, axis=1)
    return still


def curation_statistics(
    episodes: Sequence[Episode],
    config: CurationConfig,
    bins: ActionBins,
    action_names: Sequence[str],
) -> dict[str, Any]:
    """Return the statistics of the module docstring as a JSON-able dict.

    Keys: ``episodes``, ``frames``, ``duration_s``, ``near_duplicate_fraction``,
    ``repeated_stretch_fraction`` (both ``None`` without a camera),
    ``stationary_fraction``, ``actions`` (per name: ``edges``, ``counts``,
    ``entropy_bits``) and ``joint_action_entropy_bits``.
    """
    frames = sum(len(e) for e in episodes)
    has_camera = any("image" in e.observations for e in episodes)
    duplicates = 0
    pairs = 0
    if has_camera:
        for episode in episodes:
            diffs = _frame_differences(episode.observations["image"])
            duplicates += int(np.count_nonzero(diffs <= config.duplicate_threshold))
            pairs += max(len(episode) - 1, 0)
        repeated = sum(int(m.sum()) for m in _repeated_stretches(episodes, config.stretch_ticks))
    stationary = sum(int(_stationary(e, config).sum()) for e in episodes)
    actions = np.concatenate([e.action for e in episodes]) if frames else None
    per_action: dict[str, Any] = {}
    joint_entropy = 0.0
    if actions is not None:
        per = bins.per_action(actions)
        for i, name in enumerate(action_names):
            counts = np.bincount(per[:, i], minlength=bins.bins).astype(np.int64)
            per_action[name] = {
                "edges": [float(x) for x in bins.edges[i]],
                "counts": [int(c) for c in counts],
                "entropy_bits": _entropy_bits(counts),
            }
        joint_entropy = _entropy_bits(np.bincount(bins.joint(actions)).astype(np.int64))
    return {
        "episodes": len(episodes),
        "frames": frames,
        "duration_s": float(sum(e.dt_s[1:].sum() for e in episodes if len(e))),
        "near_duplicate_fraction": (duplicates / pairs if pairs else 0.0) if has_camera else None,
        "repeated_stretch_fraction": (repeated / frames if frames else 0.0) if has_camera else None,
        "stationary_fraction": stationary / frames if frames else 0.0,
        "actions": per_action,
        "joint_action_entropy_bits": joint_entropy,
    }


def format_statistics(title: str, stats: dict[str, Any]) -> str:
    """Return a few readable lines for one statistics dict."""

    def percent(value: float | None) -> str:
        return "n/a (no camera)" if value is None else f"{100 * value:.1f} %"

    lines = [
        f"{title}: {stats['episodes']} episodes, {stats['frames']} frames, "
        f"{stats['duration_s']:.1f} s",
        f"  near-duplicate frames {percent(stats['near_duplicate_fraction'])}, "
        f"repeated stretches {percent(stats['repeated_stretch_fraction'])}, "
        f"stationary {percent(stats['stationary_fraction'])}",
    ]
    for name, hist in stats["actions"].items():
        counts = " ".join(str(c) for c in hist["counts"])
        lines.append(f"  {name}: entropy {hist['entropy_bits']:.2f} bits, histogram [{counts}]")
    lines.append(f"  joint action entropy {stats['joint_action_entropy_bits']:.2f} bits")
    return "\n".join(lines)


# --------------------------------------------------------------------------- subsampling


def _keep_distinct(images: np.ndarray, threshold: float) -> BoolArray:
    """Keep a frame only when it differs from the last kept frame by more than ``threshold``."""
    keep = np.ones(len(images), dtype=bool)
    last = images[0].astype(np.int16) if len(images) else None
    for k in range(1, len(images)):
        frame = images[k].astype(np.int16)
        if np.abs(frame - last).mean() <= threshold:
            keep[k] = False
        else:
            last = frame
    return keep


def _limit_stationary(stationary: BoolArray, max_ticks: int) -> BoolArray:
    """Keep the first ``max_ticks`` ticks of each stationary run, drop the rest."""
    keep = np.ones(len(stationary), dtype=bool)
    run = 0
    for k, still in enumerate(stationary):
        run = run + 1 if still else 0
        if run > max_ticks:
            keep[k] = False
    return keep


def _runs(labels: npt.NDArray[np.intp], keep: BoolArray) -> list[tuple[int, npt.NDArray[np.intp]]]:
    """Return ``(label, rows)`` for each run of equal labels among the kept rows."""
    rows = np.flatnonzero(keep)
    if not len(rows):
        return []
    kept = labels[rows]
    edges = np.flatnonzero(np.diff(kept)) + 1
    return [
        (int(run[0]), part)
        for run, part in zip(np.split(kept, edges), np.split(rows, edges), strict=True)
    ]


def _bin_cap(counts: dict[int, int], fraction: float) -> int:
    """Return the largest count cap ``c`` with ``c <= fraction * sum(min(n, c))``."""
    values = np.array(sorted(counts.values()))
    caps = np.arange(1, values.max() + 1)
    totals = np.minimum(values[None, :], caps[:, None]).sum(axis=1)
    feasible = caps[caps <= fraction * totals]
    return int(feasible.max()) if feasible.size else int(values.min())


def _rebalance(
    episodes: Sequence[Episode],
    keeps: list[BoolArray],
    bins: ActionBins,
    fraction: float,
    seed: int,
) -> None:
    """Drop tails of runs of over-represented joint bins (in place on ``keeps``)."""
    labels = [bins.joint(e.action) for e in episodes]
    counts: dict[int, int] = {}
    for label, keep in zip(labels, keeps, strict=True):
        for value, n in zip(*np.unique(label[keep], return_counts=True), strict=True):
            counts[int(value)] = counts.get(int(value), 0) + int(n)
    if not counts:
        return
    cap = _bin_cap(counts, fraction)
    runs = [
        (label, episode, rows)
        for episode, (labels_e, keep) in enumerate(zip(labels, keeps, strict=True))
        for label, rows in _runs(labels_e, keep)
        if counts[label] > cap
    ]
    rng = np.random.default_rng(seed)
    for position in rng.permutation(len(runs)):
        label, episode, rows = runs[position]
        excess = counts[label] - cap
        if excess <= 0:
            continue
        dropped = rows[max(len(rows) - excess, 0) :]
        keeps[episode][dropped] = False
        counts[label] -= len(dropped)


def _cut(episode: Episode, keep: BoolArray, gap_s: float, period_s: float) -> list[Episode]:
    """Return the kept rows as episodes; dt spans dropped rows; split after gaps > gap_s."""
    rows = np.flatnonzero(keep)
    if not len(rows):
        return []
    elapsed = np.cumsum(episode.dt_s)
    dt = np.diff(elapsed[rows], prepend=np.nan)
    breaks = np.flatnonzero(dt > gap_s)
    pieces = np.split(np.arange(len(rows)), breaks)
    result = []
    for number, piece in enumerate(pieces):
        chosen = rows[piece]
        piece_dt = dt[piece].copy()
        piece_dt[0] = period_s
        name = episode.name if len(pieces) == 1 else f"{episode.name}.{number}"
        result.append(
            Episode(
                name=name,
                t_s=episode.t_s[chosen],
                dt_s=piece_dt,
                observations={k: v[chosen] for k, v in episode.observations.items()},
                action=episode.action[chosen],
            )
        )
    return result


def subsample_episodes(
    episodes: Sequence[Episode],
    config: CurationConfig,
    bins: ActionBins,
    *,
    period_s: float,
    gap_s: float,
    seed: int,
) -> tuple[Episode, ...]:
    """Return the episodes with the ticks the module docstring lists dropped."""
    keeps = [np.ones(len(e), dtype=bool) for e in episodes]
    if config.drop_duplicates:
        for keep, episode in zip(keeps, episodes, strict=True):
            if "image" in episode.observations:
                keep &= _keep_distinct(episode.observations["image"], config.duplicate_threshold)
    if config.drop_repeated_stretches:
        for keep, mark in zip(
            keeps, _repeated_stretches(episodes, config.stretch_ticks), strict=True
        ):
            keep &= ~mark
    max_ticks = max(int(round(config.max_stationary_s / period_s)), 1)
    for keep, episode in zip(keeps, episodes, strict=True):
        keep &= _limit_stationary(_stationary(episode, config), max_ticks)
    if config.max_bin_fraction is not None:
        _rebalance(episodes, keeps, bins, config.max_bin_fraction, seed)
    curated = [
        piece
        for episode, keep in zip(episodes, keeps, strict=True)
        for piece in _cut(episode, keep, gap_s, period_s)
    ]
    return tuple(e for e in curated if len(e) >= config.min_episode_ticks)
