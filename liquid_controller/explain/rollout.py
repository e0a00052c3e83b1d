"""Step a policy through an episode and keep what it did: actions and every neuron's activity."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.runtime.spec import Policy

__all__ = ["Rollout", "rollout"]


class Rollout(NamedTuple):
    """The policy's outputs at every tick of an episode.

    Attributes:
        action: ``(T, A)`` nominal command (before any safety filter).
        activity: ``(T, N)`` every neuron's state after the tick, neuron-id order.
        sensory: ``(T, F)`` the core's inputs at the tick (image features, then the
            normalised vector inputs), or ``(T, 0)`` when the policy does not expose them.
    """

    action: npt.NDArray[np.float64]
    activity: npt.NDArray[np.float64]
    sensory: npt.NDArray[np.float64]


def rollout(policy: Policy, episode: ExplainEpisode) -> Rollout:
    """Reset ``policy`` and step it through ``episode`` with the episode's time steps.

    ``sensory`` is read from ``policy.features`` (the runtime policy has it).
    """
    policy.reset()
    actions, activity, sensory = [], [], []
    for tick in range(len(episode)):
        step = policy.step(episode.observation(tick), float(episode.dt_s[tick]))
        actions.append(np.array(step.action, dtype=np.float64))
        activity.append(np.array(step.activity, dtype=np.float64))
        sensory.append(np.asarray(getattr(policy, "features", np.zeros(0)), dtype=np.float64))
    return Rollout(np.asarray(actions), np.asarray(activity), np.asarray(sensory))
