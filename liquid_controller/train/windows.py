"""Sequence windows for truncated backpropagation through time, state carried between them.

Episodes are packed end to end into ``lanes`` (one lane per batch row): each
epoch shuffles the episodes (seeded by ``(seed, epoch)``, so a resumed run sees
the same order) and hands each to the shortest lane. Window ``k`` holds steps
``[k W, (k + 1) W)`` of every lane, so the hidden state at the end of window ``k``
is the right start of window ``k + 1``; ``reset`` marks the first step of each
episode, where the trainer zeroes that row's state. Lanes shorter than the
longest are padded with copies of their last step, with ``mask`` 0.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from liquid_controller.runtime.spec import PolicySpec
from liquid_controller.train.episodes import Episode

__all__ = ["LanePlan", "Window", "plan_lanes"]


@dataclass(frozen=True)
class Window:
    """A batch of ``B`` lanes by ``W`` steps (numpy; the trainer moves it to torch).

    Attributes:
        image: ``(B, W, H, Wi, 3)`` uint8, or ``None`` without a camera.
        vector: ``(B, W, V)`` float32, the spec's vectors concatenated (raw values).
        dt: ``(B, W)`` float32 seconds since the previous tick.
        action: ``(B, W, A)`` float32 recorded command.
        previous_action: ``(B, W, A)`` float32 recorded command of the previous tick
            (the tick's own at an episode start): the safety layer's ``u_prev``.
        state: per joint key (``joint_position`` ...), ``(B, W, n)`` float32.
        reset: ``(B, W)`` bool, first step of an episode.
        mask: ``(B, W)`` float32, 1 on real steps, 0 on padding.
    """

    image: np.ndarray | None
    vector: np.ndarray
    dt: np.ndarray
    action: np.ndarray
    previous_action: np.ndarray
    state: Mapping[str, np.ndarray]
    reset: np.ndarray
    mask: np.ndarray


STATE_KEYS = ("joint_position", "joint_velocity")


@dataclass(frozen=True)
class LanePlan:
    """Which episode row sits at each lane position.

    Attributes:
        episode: ``(lanes, length)`` episode index per position.
        row: ``(lanes, length)`` row within that episode.
        valid: ``(lanes, length)`` bool, ``False`` on padding.
        window: steps per window.
    """

    episode: np.ndarray
    row: np.ndarray
    valid: np.ndarray
    window: int

    @property
    def num_windows(self) -> int:
        """Number of windows covering the longest lane."""
        return int(-(-self.episode.shape[1] // self.window))

    @property
    def num_steps(self) -> int:
        """Number of real (unpadded) steps over all lanes."""
        return int(self.valid.sum())


def plan_lanes(
    lengths: Sequence[int], lanes: int, window: int, rng: np.random.Generator | None
) -> LanePlan:
    """Pack episodes of ``lengths`` into at most ``lanes`` lanes.

    Args:
        lengths: steps of each episode.
        lanes: batch rows (fewer are used when there are fewer episodes).
        window: steps per window.
        rng: shuffles the episode order; ``None`` keeps it (evaluation).
    """
    order = np.arange(len(lengths)) if rng is None else rng.permutation(len(lengths))
    count = max(1, min(lanes, len(lengths)))
    contents: list[list[int]] = [[] for _ in range(count)]
    filled = np.zeros(count, dtype=np.int64)
    for index in order:
        lane = int(np.argmin(filled))
        contents[lane].append(int(index))
        filled[lane] += lengths[index]
    length = max(int(filled.max()), 1)
    length = -(-length // window) * window
    episode = np.zeros((count, length), dtype=np.int64)
    row = np.zeros((count, length), dtype=np.int64)
    valid = np.zeros((count, length), dtype=bool)
    for lane, indices in enumerate(contents):
        position = 0
        for index in indices:
            steps = lengths[index]
            episode[lane, position : position + steps] = index
            row[lane, position : position + steps] = np.arange(steps)
            position += steps
        valid[lane, :position] = True
        if position and position < length:  # pad with the last real step
            episode[lane, position:] = episode[lane, position - 1]
            row[lane, position:] = row[lane, position - 1]
    return LanePlan(episode, row, valid, window)


def _gather(
    episodes: Sequence[Episode],
    ep: np.ndarray,
    row: np.ndarray,
    array_of: Callable[[Episode], np.ndarray],
) -> np.ndarray:
    """Rows ``row`` of ``array_of(episodes[ep])`` per lane: one fancy index per episode run."""
    lanes = []
    for ep_lane, row_lane in zip(ep, row, strict=True):
        cuts = np.flatnonzero(np.diff(ep_lane)) + 1
        parts = [
            np.asarray(array_of(episodes[int(e[0])]))[r]
            for e, r in zip(np.split(ep_lane, cuts), np.split(row_lane, cuts), strict=True)
        ]
        lanes.append(np.concatenate(parts))
    return np.stack(lanes)


def iter_windows(
    plan: LanePlan,
    episodes: Sequence[Episode],
    spec: PolicySpec,
    lanes: Sequence[int] | None = None,
) -> Iterator[Window]:
    """Yield the plan's windows in order, for the lane rows ``lanes`` (default: all).

    Args:
        plan: from :func:`plan_lanes` over ``episodes``.
        episodes: the episodes the plan indexes.
        spec: which observations to gather (its vectors, in order, and the camera).
        lanes: the rows this process trains on (data parallel: every ``world``-th).
    """
    rows = np.arange(plan.episode.shape[0]) if lanes is None else np.asarray(lanes, np.int64)
    names = [v.name for v in spec.vectors]

    def vector(e: Episode) -> np.ndarray:
        parts = [np.asarray(e.observations[n], dtype=np.float32) for n in names]
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(e), 0), np.float32)

    state_keys = [k for k in STATE_KEYS if episodes and k in episodes[0].observations]
    for k in range(plan.num_windows):
        span = slice(k * plan.window, (k + 1) * plan.window)
        ep, row, valid = plan.episode[rows, span], plan.row[rows, span], plan.valid[rows, span]

        gather = functools.partial(_gather, episodes, ep, row)
        action = gather(lambda e: e.action).astype(np.float32)
        previous = gather(lambda e: np.concatenate([e.action[:1], e.action[:-1]]))
        yield Window(
            image=None if spec.image is None else gather(lambda e: e.observations["image"]),
            vector=gather(vector),
            dt=gather(lambda e: e.dt_s).astype(np.float32),
            action=action,
            previous_action=previous.astype(np.float32),
            state={
                key: gather(lambda e, key=key: e.observations[key]).astype(np.float32)  # type: ignore[misc]
                for key in state_keys
            },
            reset=(row == 0) & valid,
            mask=valid.astype(np.float32),
        )
