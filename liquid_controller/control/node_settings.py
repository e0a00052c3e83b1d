"""A node's parameter values -> runner settings; a freshly loaded policy's warm-up and neuron roles.

ROS-free, so the rclpy nodes and offline replay build their runners the same way from the
same parameter values (:mod:`liquid_controller.control.parameters` holds the specs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from liquid_controller.control.policy_runner import IMAGE_INPUT, PolicyRunnerConfig
from liquid_controller.control.safety_runner import SafetyRunnerConfig
from liquid_controller.runtime.spec import Policy
from liquid_controller.safety.config import SafetyConfig

__all__ = ["neuron_types", "policy_runner_config", "safety_runner_config", "warm_up"]


def policy_runner_config(values: Mapping[str, Any]) -> PolicyRunnerConfig:
    """Policy runner settings from the node's parameter values."""
    return PolicyRunnerConfig(
        input_timeout_s=float(values["input_timeout_s"]),
        nominal_period_s=1.0 / float(values["rate_hz"]),
        max_dt_s=float(values["max_dt_s"]),
        reset_on_resume=bool(values["reset_on_resume"]),
    )


def safety_runner_config(values: Mapping[str, Any], config: SafetyConfig) -> SafetyRunnerConfig:
    """Safety runner settings from the node's parameters and the safety config."""
    return SafetyRunnerConfig(
        input_timeout_s=float(values["input_timeout_s"]),
        require_joint_state=bool(values["require_joint_state"]),
        max_dt_s=float(config.timing.max_dt_s),
    )


def warm_up(policy: Policy, dt_s: float) -> None:
    """Step ``policy`` once on a neutral observation, then reset its hidden state.

    The first step of a process pays for lazy set-up (numpy kernels, caches: 15-90 ms for
    the default camera policy); doing it here keeps that out of the first control callback.
    The observation is a black image and each vector at its normalisation mean.
    """
    spec = policy.spec
    obs: dict[str, Any] = {v.name: np.asarray(v.mean, dtype=np.float64) for v in spec.vectors}
    if spec.image is not None:
        shape = (spec.image.height, spec.image.width, spec.image.channels)
        obs[IMAGE_INPUT] = np.zeros(shape, dtype=np.uint8)
    policy.step(obs, dt_s)
    policy.reset()


def neuron_types(policy: Policy) -> list[str]:
    """Role of each neuron for ``PolicyState.neuron_types``, if the policy exposes them."""
    types = getattr(policy, "neuron_types", None)
    if callable(types):
        types = types()
    return [str(t) for t in types] if types is not None else []
