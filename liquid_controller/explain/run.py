"""Explain a policy on episodes: rollouts, the decision tree, saliency and its summary.

:func:`explain` computes everything the report shows; it does not draw or write. Gradient
saliency and VisualBackProp need the torch network (a checkpoint); occlusion runs on the
artifact. What could not be computed is listed in :attr:`Explanation.notes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError
from liquid_controller.explain.attention import attention_summary
from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.explain.model import ExplainedModel
from liquid_controller.explain.occlusion import runtime_occlusion_maps
from liquid_controller.explain.rollout import Rollout, rollout
from liquid_controller.explain.tree import TreeResult, fit_tree, tree_features

__all__ = ["METHODS", "ExplainOptions", "Explanation", "explain", "frame_ticks"]

METHODS = ("gradient", "visualbackprop", "occlusion")
"""Saliency methods: the first two through the torch network, occlusion through the artifact."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ExplainOptions:
    """What to compute.

    Attributes:
        frames: ticks whose saliency is drawn; ``None``: ``shown_frames`` evenly spaced.
        shown_frames: how many frames to draw when ``frames`` is ``None``.
        summary_frames: evenly spaced frames whose saliency the attention summary averages.
        methods: saliency methods (:data:`METHODS`).
        occlusion_patch: patch side in pixels (default: an eighth of the shorter side).
        occlusion_stride: patch step (default: the patch side).
        tree_depth, tree_bins, tree_holdout: see :func:`~.tree.fit_tree`.
        tree_features: feature names or wildcards (default: all).
    """

    frames: tuple[int, ...] | None = None
    shown_frames: int = 4
    summary_frames: int = 8
    methods: tuple[str, ...] = METHODS
    occlusion_patch: int | None = None
    occlusion_stride: int | None = None
    tree_depth: int = 3
    tree_bins: int = 3
    tree_holdout: float = 0.3
    tree_features: tuple[str, ...] | None = None


@dataclass
class Explanation:
    """Everything the report shows, for the explained episode (``episodes[index]``)."""

    model: ExplainedModel
    episodes: list[ExplainEpisode]
    rollouts: list[Rollout]
    index: int
    tree: TreeResult
    shown: list[int] = field(default_factory=list)
    saliency: dict[str, dict[int, FloatArray]] = field(default_factory=dict)
    attention: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def episode(self) -> ExplainEpisode:
        """The episode whose activity and saliency are shown."""
        return self.episodes[self.index]

    @property
    def rollout(self) -> Rollout:
        """The policy's outputs on :attr:`episode`."""
        return self.rollouts[self.index]


def frame_ticks(length: int, count: int) -> list[int]:
    """Return ``count`` ticks evenly spaced over an episode of ``length`` (fewer if shorter)."""
    if length < 1 or count < 1:
        return []
    return sorted({int(round(v)) for v in np.linspace(0, length - 1, min(count, length))})


def _saliency_maps(
    model: ExplainedModel,
    episode: ExplainEpisode,
    ticks: Sequence[int],
    methods: Sequence[str],
    options: ExplainOptions,
) -> dict[str, dict[int, FloatArray]]:
    maps: dict[str, dict[int, FloatArray]] = {}
    images = episode.observations["image"]
    if "occlusion" in methods:
        assert model.spec.image is not None
        patch = options.occlusion_patch or max(
            1, min(model.spec.image.height, model.spec.image.width) // 8
        )
        maps["occlusion"] = runtime_occlusion_maps(
            model.runtime, episode, ticks, patch=patch, stride=options.occlusion_stride
        )
    if model.network is not None and {"gradient", "visualbackprop"} & set(methods):
        from liquid_controller.explain.saliency_torch import (
            gradient_saliency,
            torch_frames,
            visual_backprop,
        )

        if "gradient" in methods:
            frames = torch_frames(model.network, episode, ticks)
            maps["gradient"] = {k: gradient_saliency(frames[k], images[k]) for k in ticks}
        if "visualbackprop" in methods:
            maps["visualbackprop"] = {k: visual_backprop(model.network, images[k]) for k in ticks}
    return {method: maps[method] for method in METHODS if method in maps}


def explain(
    model: ExplainedModel,
    episodes: Sequence[ExplainEpisode],
    *,
    index: int = 0,
    options: ExplainOptions | None = None,
) -> Explanation:
    """Roll the policy through ``episodes`` and explain ``episodes[index]``.

    The tree is fitted and scored on all episodes in order (held-out ticks last).

    Raises:
        ConfigError: no episodes, a bad index, an unknown method or frame, or tree options.
    """
    options = options or ExplainOptions()
    if not episodes:
        raise ConfigError("episodes", 0, "at least one episode")
    if not 0 <= index < len(episodes):
        raise ConfigError("episode", index, f"an index in [0, {len(episodes)})")
    for method in options.methods:
        if method not in METHODS:
            raise ConfigError("methods", method, f"one of {list(METHODS)}")
    spec = model.spec
    rollouts = [rollout(model.runtime, episode) for episode in episodes]
    features = tree_features(spec, model.neuron_types(), episodes, rollouts)
    tree = fit_tree(
        features,
        np.concatenate([r.action for r in rollouts]),
        spec.action.names,
        depth=options.tree_depth,
        bins=options.tree_bins,
        holdout=options.tree_holdout,
        patterns=options.tree_features,
    )
    result = Explanation(model, list(episodes), rollouts, index, tree)
    episode = episodes[index]
    if spec.image is None:
        result.notes.append("the policy has no camera: no saliency maps")
        return result
    if model.network is None and {"gradient", "visualbackprop"} & set(options.methods):
        result.notes.append(
            "gradient saliency and VisualBackProp need the torch checkpoint; "
            "this model is an exported artifact, so only occlusion was computed"
        )
    if options.frames is not None:
        bad = [k for k in options.frames if not 0 <= k < len(episode)]
        if bad:
            raise ConfigError("frames", bad, f"tick indices in [0, {len(episode)})")
        result.shown = sorted(set(options.frames))
    else:
        result.shown = frame_ticks(len(episode), options.shown_frames)
    summary = frame_ticks(len(episode), options.summary_frames)
    ticks = sorted(set(result.shown) | set(summary))
    result.saliency = _saliency_maps(model, episode, ticks, options.methods, options)
    masks = episode.masks
    if masks is None:
        result.notes.append(
            "no segmentation for this episode (a recorded bag): the attention summary gives "
            "image bands only; run --sim for the share on lane markings and road"
        )
    for method, maps in result.saliency.items():
        result.attention[method] = attention_summary(
            [maps[k] for k in summary], None if masks is None else [masks[k] for k in summary]
        )
    return result
