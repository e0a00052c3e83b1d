"""Occlusion saliency: how much the command changes when a patch of the image is hidden.

For a frame ``k``, the policy is put in its hidden state before ``k`` and stepped once with
the frame as recorded (``a``) and once per patch position with that square patch filled with
the frame's mean colour (``a_p``). A pixel's saliency is ``||a_p - a||_2`` averaged over the
patches that cover it. An input the network ignores leaves ``a_p = a``: saliency 0. It
measures the frame's effect on the command of the same tick (an LTC with fewer ODE unfolds
than layers between its inputs and motor neurons passes a frame on only at later ticks).

Runs on the torch-free runtime (:class:`RuntimeFrame`), so a deployed artifact is audited
exactly as it runs on the robot; :func:`occlusion_map` takes any batch evaluator, which is
how the torch network's map is computed for comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError
from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.runtime.policy import RuntimePolicy

__all__ = ["RuntimeFrame", "occlusion_map", "runtime_occlusion_maps", "windows"]

FloatArray = npt.NDArray[np.float64]
Evaluator = Callable[[npt.NDArray[np.uint8]], FloatArray]
"""Maps ``(N, H, W, C)`` uint8 images to the ``(N, A)`` actions of one step from one state."""


def windows(size: int, patch: int, stride: int) -> list[int]:
    """Return the start offsets of patches along one side; the last one ends at the edge."""
    if patch >= size:
        return [0]
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def occlusion_map(
    image: npt.NDArray[np.uint8],
    evaluate: Evaluator,
    *,
    patch: int,
    stride: int | None = None,
    batch: int = 64,
) -> FloatArray:
    """Return the ``(H, W)`` occlusion saliency of ``image`` (see the module docstring).

    Args:
        image: ``(H, W, C)`` uint8 frame.
        evaluate: the policy's action for a batch of images from one hidden state.
        patch: side of the square patch, pixels (>= 1).
        stride: step between patches (default ``patch``; at most ``patch``, so every pixel
            is covered).
        batch: images per call of ``evaluate``.
    """
    height, width = image.shape[:2]
    stride = patch if stride is None else stride
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ConfigError("occlusion patch", patch, "an integer number of pixels >= 1")
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= patch:
        raise ConfigError("occlusion stride", stride, f"an integer in [1, patch = {patch}]")
    fill = np.round(image.reshape(-1, image.shape[2]).mean(axis=0)).astype(np.uint8)
    baseline = evaluate(image[None])[0]
    boxes = [
        (top, left, min(top + patch, height), min(left + patch, width))
        for top in windows(height, patch, stride)
        for left in windows(width, patch, stride)
    ]
    total = np.zeros((height, width))
    count = np.zeros((height, width))
    for start in range(0, len(boxes), batch):
        chunk = boxes[start : start + batch]
        images = np.repeat(image[None], len(chunk), axis=0)
        for index, (top, left, bottom, right) in enumerate(chunk):
            images[index, top:bottom, left:right] = fill
        change = np.linalg.norm(evaluate(images) - baseline, axis=1)
        for (top, left, bottom, right), value in zip(chunk, change, strict=True):
            total[top:bottom, left:right] += value
            count[top:bottom, left:right] += 1
    return total / np.maximum(count, 1)


class RuntimeFrame:
    """An :data:`Evaluator` for the runtime policy at one tick, from its current hidden state.

    Each image is one step from the state the policy had when this object was made; the
    state (and any LSTM memory) is restored after every step and on :meth:`restore`.
    """

    def __init__(self, policy: RuntimePolicy, obs: Mapping[str, Any], dt_s: float) -> None:
        self._policy = policy
        self._obs = dict(obs)
        self._dt_s = dt_s
        core = policy.core
        self._state = np.array(core.state, copy=True)
        memory = getattr(core, "memory", None)
        self._memory = None if memory is None else np.array(memory, copy=True)

    def restore(self) -> None:
        """Put the policy back in the state it had when this frame was made."""
        core = self._policy.core
        core.state[...] = self._state
        if self._memory is not None:
            core.memory[...] = self._memory  # type: ignore[index]

    def __call__(self, images: npt.NDArray[np.uint8]) -> FloatArray:
        """Return the ``(N, A)`` actions of one step per image from the saved state."""
        actions = []
        for image in images:
            self.restore()
            actions.append(self._policy.step({**self._obs, "image": image}, self._dt_s).action)
        self.restore()
        return np.asarray(actions, dtype=np.float64)


def runtime_occlusion_maps(
    policy: RuntimePolicy,
    episode: ExplainEpisode,
    frames: Iterable[int],
    *,
    patch: int,
    stride: int | None = None,
) -> dict[int, FloatArray]:
    """Return the occlusion map of each of ``frames``, stepping ``policy`` through ``episode``.

    Raises:
        ConfigError: the policy has no camera, or a frame is outside the episode.
    """
    if policy.spec.image is None:
        raise ConfigError("model", "no camera input", "a policy with a camera for saliency")
    wanted = sorted(set(frames))
    if wanted and not 0 <= wanted[0] <= wanted[-1] < len(episode):
        raise ConfigError("frames", wanted, f"tick indices in [0, {len(episode)})")
    maps: dict[int, FloatArray] = {}
    policy.reset()
    for tick in range(wanted[-1] + 1 if wanted else 0):
        obs, dt_s = episode.observation(tick), float(episode.dt_s[tick])
        if tick in wanted:
            maps[tick] = occlusion_map(
                obs["image"], RuntimeFrame(policy, obs, dt_s), patch=patch, stride=stride
            )
        policy.step(obs, dt_s)
    return maps
