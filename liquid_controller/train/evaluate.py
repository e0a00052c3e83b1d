"""Open-loop evaluation: a trained policy stepped through held-out episodes, as on the robot.

Each episode starts from a reset state; at every tick the policy gets the
recorded observations and the recorded ``dt`` (``Policy.step``, the same call the
nodes make, so a checkpoint and its exported artifact give the same numbers).
Its nominal command is compared with the recorded one; with a safety config the
nominal command also passes through the runtime
:class:`~liquid_controller.safety.filter.SafetyFilter` (with the policy's barrier
gains when it has a barrier head, the recorded joint state and the tick's time)
and that filtered command is scored as well.

Metrics per action: MAE, RMSE and R² (``1 - SSE / SST`` over all ticks of the
split; ``NaN`` for a recorded action that never varies).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liquid_controller.runtime.spec import Policy
from liquid_controller.train.data_fit import check_episodes_fit, check_spec_fits
from liquid_controller.train.episodes import DatasetSplits, Episode
from liquid_controller.train.windows import STATE_KEYS

__all__ = ["EpisodePrediction", "action_metrics", "evaluate_policy", "write_report"]


@dataclass(frozen=True)
class EpisodePrediction:
    """One episode's recorded and predicted commands, ``(T, A)`` each."""

    name: str
    t_s: np.ndarray
    recorded: np.ndarray
    predicted: np.ndarray
    filtered: np.ndarray | None
    interventions: int


def action_metrics(
    predicted: np.ndarray, recorded: np.ndarray, names: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Per action ``{"mae", "rmse", "r2"}`` of ``predicted`` against ``recorded`` (``(N, A)``)."""
    error = predicted - recorded
    result = {}
    for index, name in enumerate(names):
        column = error[:, index]
        spread = float(((recorded[:, index] - recorded[:, index].mean()) ** 2).sum())
        sse = float((column**2).sum())
        result[name] = {
            "mae": float(np.abs(column).mean()),
            "rmse": float(math.sqrt((column**2).mean())),
            "r2": 1.0 - sse / spread if spread > 0 else float("nan"),
        }
    return result


def _predict(policy: Policy, episode: Episode, safety: Any | None) -> EpisodePrediction:
    policy.reset()
    steps, size = len(episode), policy.spec.action.size
    predicted = np.zeros((steps, size))
    filtered = None if safety is None else np.zeros((steps, size))
    interventions = 0
    if safety is not None:
        safety.reset(u_prev=episode.action[0], t=float(episode.t_s[0]) - float(episode.dt_s[0]))
    for k in range(steps):
        obs = {key: value[k] for key, value in episode.observations.items()}
        step = policy.step(obs, float(episode.dt_s[k]))
        predicted[k] = step.action
        if safety is not None and filtered is not None:
            state = {key: obs[key] for key in STATE_KEYS if key in obs} or None
            outcome = safety.filter(step.action, state, float(episode.t_s[k]), step.barrier_params)
            filtered[k] = outcome.u
            interventions += int(outcome.intervened)
    recorded = np.asarray(episode.action, dtype=np.float64)
    return EpisodePrediction(
        episode.name, np.asarray(episode.t_s), recorded, predicted, filtered, interventions
    )


def evaluate_policy(
    policy: Policy,
    splits: DatasetSplits,
    split: str = "test",
    *,
    safety_config: str | os.PathLike[str] | None = None,
    model_name: str = "model",
) -> tuple[dict[str, Any], list[EpisodePrediction]]:
    """Step ``policy`` through the episodes of ``split``; return the summary and the traces.

    Raises:
        ConfigError: the split is empty, or the model's spec does not read this
            dataset (action names, inputs, fields, image shape: the message says which).
    """
    from liquid_controller.errors import ConfigError

    episodes = splits.split(split)
    if not episodes:
        raise ConfigError("split", split, "a split with episodes (this one is empty)")
    check_spec_fits(policy.spec, splits, model_name)
    check_episodes_fit(
        episodes, splits.action_names, splits.vector_fields, splits.image_shape, split
    )
    safety = None
    if safety_config is not None:
        from liquid_controller.safety.filter import SafetyFilter

        safety = SafetyFilter.from_yaml(Path(safety_config))
        if tuple(safety.builder.names) != tuple(splits.action_names):
            raise ConfigError(
                "safety actuators",
                list(safety.builder.names),
                f"the dataset's actions {list(splits.action_names)} (same order)",
            )
    predictions = [_predict(policy, episode, safety) for episode in episodes]
    names = splits.action_names
    recorded = np.concatenate([p.recorded for p in predictions])
    summary: dict[str, Any] = {
        "model": model_name,
        "split": split,
        "episodes": len(predictions),
        "ticks": int(recorded.shape[0]),
        "actions": list(names),
        "nominal": action_metrics(
            np.concatenate([p.predicted for p in predictions]), recorded, names
        ),
        "per_episode": {
            p.name: action_metrics(p.predicted, p.recorded, names) for p in predictions
        },
    }
    if safety is not None:
        filtered = np.concatenate([p.filtered for p in predictions if p.filtered is not None])
        summary["filtered"] = action_metrics(filtered, recorded, names)
        summary["safety_config"] = os.fspath(safety_config) if safety_config else None
        summary["filter_interventions"] = sum(p.interventions for p in predictions)
    return summary, predictions


def _plot_episode(path: Path, prediction: EpisodePrediction, names: Sequence[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = prediction.t_s - prediction.t_s[0]
    figure, axes = plt.subplots(len(names), 1, figsize=(8, 2.2 * len(names)), sharex=True)
    for index, axis in enumerate(np.atleast_1d(axes)):
        axis.plot(t, prediction.recorded[:, index], "k-", lw=1.5, label="recorded")
        axis.plot(t, prediction.predicted[:, index], "C0-", lw=1, label="predicted")
        if prediction.filtered is not None:
            axis.plot(t, prediction.filtered[:, index], "C3--", lw=1, label="predicted, filtered")
        axis.set_ylabel(names[index])
        axis.grid(True, alpha=0.3)
    np.atleast_1d(axes)[0].legend(loc="upper right", fontsize="small")
    np.atleast_1d(axes)[-1].set_xlabel("time in episode (s)")
    figure.suptitle(prediction.name)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_report(
    out_dir: str | os.PathLike[str],
    summary: Mapping[str, Any],
    predictions: Sequence[EpisodePrediction],
) -> list[Path]:
    """Write ``summary.json`` and one ``<episode>.png`` plot per episode; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "summary.json"]
    written[0].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for index, prediction in enumerate(predictions):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in prediction.name)
        path = out / f"{index:03d}_{safe}.png"
        _plot_episode(path, prediction, summary["actions"])
        written.append(path)
    return written
