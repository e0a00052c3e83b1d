"""Where the saliency of an episode concentrates: shares of its mass by region.

For each frame the saliency map is read as a distribution over pixels (map / its sum).
Reported, averaged over the frames with any saliency:

- ``bands``: share of the mass in the top, middle and bottom third of the image (the
  horizon sits in the upper part of a forward camera) and in its left, centre and right
  third;
- ``concentration``: the smallest fraction of the pixels that holds half of the mass
  (0.5 for a uniform map, small when attention is focused);
- with scene labels (the simulator's segmentation, :data:`~.episode.MASK_LABELS`):
  ``labels``, per label its ``mass`` share and its ``area`` share of the pixels; mass
  above area means the policy looks there more than a uniform gaze would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.explain.episode import MASK_LABELS

__all__ = ["attention_summary"]

FloatArray = npt.NDArray[np.float64]


def _concentration(weights: FloatArray) -> float:
    ordered = np.sort(weights.ravel())[::-1]
    needed = int(np.searchsorted(np.cumsum(ordered), 0.5 - 1e-12)) + 1
    return needed / ordered.size


def attention_summary(
    maps: Sequence[FloatArray],
    masks: Sequence[npt.NDArray[np.uint8]] | None = None,
    labels: Sequence[str] = MASK_LABELS,
) -> dict[str, Any]:
    """Summarise saliency ``maps`` (``(H, W)`` each, >= 0) of an episode's frames.

    Args:
        maps: one map per frame.
        masks: per frame, its ``(H, W)`` label image (indices into ``labels``), or ``None``.
        labels: label names.

    Returns:
        JSON-able: ``frames`` (how many had saliency), ``zero_frames``, ``bands``,
        ``concentration`` and, with masks, ``labels`` (see the module docstring).
    """
    bands: dict[str, list[float]] = {
        name: [] for name in ("top", "middle", "bottom", "left", "centre", "right")
    }
    concentration: list[float] = []
    label_mass: dict[str, list[float]] = {name: [] for name in labels}
    label_area: dict[str, list[float]] = {name: [] for name in labels}
    zero = 0
    for index, saliency in enumerate(maps):
        total = float(saliency.sum())
        if not total > 0.0:
            zero += 1
            continue
        weights = saliency / total
        height, width = weights.shape
        rows = np.array_split(np.arange(height), 3)
        columns = np.array_split(np.arange(width), 3)
        for name, part in zip(("top", "middle", "bottom"), rows, strict=True):
            bands[name].append(float(weights[part].sum()))
        for name, part in zip(("left", "centre", "right"), columns, strict=True):
            bands[name].append(float(weights[:, part].sum()))
        concentration.append(_concentration(weights))
        if masks is not None:
            mask = masks[index]
            for value, name in enumerate(labels):
                region = mask == value
                label_mass[name].append(float(weights[region].sum()))
                label_area[name].append(float(region.mean()))
    summary: dict[str, Any] = {
        "frames": len(concentration),
        "zero_frames": zero,
        "bands": {name: _mean(values) for name, values in bands.items()},
        "concentration": _mean(concentration),
    }
    if masks is not None:
        summary["labels"] = {
            name: {"mass": _mean(label_mass[name]), "area": _mean(label_area[name])}
            for name in labels
        }
    return summary


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None
