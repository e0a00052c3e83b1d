"""A shallow decision tree that imitates the network: readable rules and their fidelity.

Features are interpretable signals at each tick: the states of the command neurons (every
neuron for a dense core), the vector inputs' channels and a few summaries of the camera
image (mean brightness of its left, centre and right thirds, in grey levels). The target is
the network's own action, discretised per actuator into ``bins`` quantile ranges (edges
from the fitting ticks only).

Fidelity is the share of *held-out* ticks where the tree predicts the network's
discretised action: the ticks are split in time order, the tree is fitted on the first
part and scored on the last ``holdout`` fraction only, never on what it was fitted on.
Needs scikit-learn (the ``explain`` extra).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError
from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.explain.rollout import Rollout
from liquid_controller.runtime.spec import PolicySpec

__all__ = ["TreeResult", "fit_tree", "tree_features"]

IMAGE_THIRDS = ("left", "centre", "right")


def tree_features(
    spec: PolicySpec,
    neuron_types: Sequence[str],
    episodes: Sequence[ExplainEpisode],
    rollouts: Sequence[Rollout],
) -> dict[str, npt.NDArray[np.float64]]:
    """Return every candidate feature by name, each ``(T,)`` over the episodes in order.

    Names: ``command:<id>`` (or ``neuron:<id>`` for a core without command neurons),
    ``<vector>.<field>`` (e.g. ``imu.angular_velocity.z``) and ``image.brightness.<third>``.
    """
    activity = np.concatenate([r.activity for r in rollouts])
    features: dict[str, npt.NDArray[np.float64]] = {}
    command = [i for i, role in enumerate(neuron_types) if role == "command"]
    for i in command or range(len(neuron_types)):
        features[f"{'command' if command else 'neuron'}:{i}"] = activity[:, i]
    for vector in spec.vectors:
        values = np.concatenate([np.asarray(e.observations[vector.name]) for e in episodes])
        for column, name in enumerate(vector.fields):
            features[f"{vector.name}.{name}"] = values[:, column].astype(np.float64)
    if spec.image is not None:
        grey = np.concatenate([e.observations["image"].mean(axis=3) for e in episodes])
        for third, columns in zip(
            IMAGE_THIRDS, np.array_split(np.arange(grey.shape[2]), 3), strict=True
        ):
            features[f"image.brightness.{third}"] = grey[:, :, columns].mean(axis=(1, 2))
    return features


def select_features(available: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """Return the names matching any of ``patterns`` (shell wildcards), in ``available`` order.

    Raises:
        ConfigError: a pattern matches nothing (the error lists the available names).
    """
    if not patterns:
        return list(available)
    for pattern in patterns:
        if not fnmatch.filter(available, pattern):
            raise ConfigError(
                "tree features", pattern, f"a name or pattern among {list(available)}"
            )
    return [name for name in available if any(fnmatch.fnmatch(name, p) for p in patterns)]


@dataclass(frozen=True)
class TreeResult:
    """A fitted tree and how well it imitates the network.

    Attributes:
        rules: the tree as readable if/else rules (``sklearn.tree.export_text``).
        fidelity: share of held-out ticks where the tree predicts the network's class.
        majority_share: share of the most common class among the held-out ticks (what a
            constant guess scores: fidelity above it is what the rules explain).
        fit_ticks, held_out_ticks: row indices of each part (disjoint, in time order).
        features: the features used, in the tree's column order.
        importances: per feature, its impurity-based importance in the tree.
        classes: per class index, its meaning (each actuator's range).
        depth: the depth asked for.
    """

    rules: str
    fidelity: float
    majority_share: float
    fit_ticks: npt.NDArray[np.intp]
    held_out_ticks: npt.NDArray[np.intp]
    features: tuple[str, ...]
    importances: dict[str, float]
    classes: tuple[str, ...]
    depth: int


def _discretise(
    action: npt.NDArray[np.float64], fit: npt.NDArray[np.intp], bins: int, names: Sequence[str]
) -> tuple[npt.NDArray[np.intp], list[list[str]]]:
    """Per actuator, the bin of each tick (quantile edges of the fitting ticks) and bin names."""
    labels = np.zeros(action.shape, dtype=np.intp)
    ranges: list[list[str]] = []
    for column, name in enumerate(names):
        quantiles = np.linspace(0.0, 1.0, bins + 1)[1:-1]
        edges = np.unique(np.quantile(action[fit, column], quantiles))
        labels[:, column] = np.searchsorted(edges, action[:, column], side="right")
        bounds = [-np.inf, *edges.tolist(), np.inf]
        ranges.append(
            [f"{name} in [{lo:.4g}, {hi:.4g})" for lo, hi in zip(bounds, bounds[1:], strict=False)]
        )
    return labels, ranges


def fit_tree(
    features: dict[str, npt.NDArray[np.float64]],
    action: npt.NDArray[np.float64],
    action_names: Sequence[str],
    *,
    depth: int = 3,
    bins: int = 3,
    holdout: float = 0.3,
    patterns: Sequence[str] | None = None,
    seed: int = 0,
) -> TreeResult:
    """Fit a tree of at most ``depth`` on the first ticks, score it on the held-out rest.

    Args:
        features: candidate features (:func:`tree_features`), each ``(T,)``.
        action: ``(T, A)`` the network's action at each tick.
        action_names: actuator names.
        depth: maximum depth (>= 1).
        bins: ranges per actuator (>= 2).
        holdout: fraction of ticks held out, at the end (in ``(0, 1)``).
        patterns: names or wildcards of the features to use; all when ``None``.
        seed: the tree's tie-breaking seed.

    Raises:
        ConfigError: an invalid option, an unknown feature, or too few ticks to split.
    """
    from sklearn.tree import DecisionTreeClassifier, export_text

    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ConfigError("tree depth", depth, "an integer >= 1")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ConfigError("tree bins", bins, "an integer >= 2")
    if not 0.0 < holdout < 1.0:
        raise ConfigError("tree holdout", holdout, "a fraction in (0, 1)")
    names = select_features(list(features), patterns)
    ticks = action.shape[0]
    held = int(round(ticks * holdout))
    if held < 1 or ticks - held < 2:
        raise ConfigError(
            "ticks", ticks, f"enough ticks to hold out {holdout:g} and fit on the rest"
        )
    fit = np.arange(ticks - held, dtype=np.intp)
    test = np.arange(ticks - held, ticks, dtype=np.intp)
    per_actuator, ranges = _discretise(action, fit, bins, action_names)
    joint, target = np.unique(per_actuator, axis=0, return_inverse=True)
    target = target.reshape(-1)
    classes = tuple(
        "; ".join(ranges[column][int(index)] for column, index in enumerate(row)) for row in joint
    )
    matrix = np.column_stack([features[name] for name in names])
    tree = DecisionTreeClassifier(max_depth=depth, random_state=seed)
    tree.fit(matrix[fit], target[fit])
    predicted = tree.predict(matrix[test])
    fidelity = float(np.mean(predicted == target[test]))
    majority = float(np.bincount(target[test]).max() / test.size)
    rules = export_text(
        tree, feature_names=names, class_names=[classes[int(c)] for c in tree.classes_]
    )
    importances = {name: float(v) for name, v in zip(names, tree.feature_importances_, strict=True)}
    return TreeResult(
        rules, fidelity, majority, fit, test, tuple(names), importances, classes, depth
    )
