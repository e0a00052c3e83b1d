"""The composed controller: policy and safety filter in one tick, no inter-process hop.

One :meth:`ControlPipeline.tick` steps the policy runner and hands its nominal straight to
the safety runner, so the command published is exactly what the two separate nodes would
publish for the same inputs, without the transport delay. One difference, on purpose:
when the policy produces no nominal (stale inputs, policy error), the composed pipeline
falls back on the same tick instead of waiting for the nominal to time out in the filter
node (``input_timeout_s`` later).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.control.policy_runner import PolicyRunner, PolicyTick
from liquid_controller.control.safety_runner import SafetyRunner, SafetyTick
from liquid_controller.errors import ConfigError
from liquid_controller.runtime.spec import Policy

__all__ = ["ControlPipeline", "PipelineTick"]

FloatArray = npt.NDArray[np.float64]


class PipelineTick(NamedTuple):
    """Both halves of one composed tick (publish ``safety.command``)."""

    policy: PolicyTick
    safety: SafetyTick


class ControlPipeline:
    """Policy runner + safety runner stepped together.

    Args:
        policy: the policy runner (its nominal, and its barrier head's class-K gains if it
            has one, feed the filter directly). Feed its inputs
            with ``pipeline.policy.submit(...)``.
        safety: the safety runner (its command is what gets published). Feed the joint
            state with ``pipeline.safety.submit_joint_state(...)``.

    Raises:
        ConfigError: if the policy's action size differs from the filter's actuator count.
    """

    def __init__(self, policy: PolicyRunner, safety: SafetyRunner) -> None:
        _check_action_size(policy.spec.action.size, safety.size)
        self.policy = policy
        self.safety = safety
        self._gains: FloatArray | None = None

    def replace_policy(self, policy: Policy) -> None:
        """Swap in a new, already loaded policy (the ``model_path`` parameter changed).

        Raises:
            ConfigError: if its action size differs from the filter's actuator count; the
                running policy is kept.
        """
        _check_action_size(policy.spec.action.size, self.safety.size)
        self.policy.replace_policy(policy)
        self._gains = None

    def tick(self, now_s: float) -> PipelineTick:
        """Step the policy, filter its nominal (or fall back) and return both results."""
        policy_tick = self.policy.tick(now_s)
        if policy_tick.nominal is None:
            why = policy_tick.error or (
                f"policy has stale inputs {list(policy_tick.stale_inputs)}"
                if policy_tick.stale_inputs
                else f"policy tick {policy_tick.status.value}"
            )
            self.safety.withdraw_nominal(why)
        else:
            if policy_tick.step is not None:
                # BarrierNet head: per-step class-K gains (kept while the action repeats).
                self._gains = policy_tick.step.barrier_params
            stamp = now_s if policy_tick.stamp_s is None else policy_tick.stamp_s
            self.safety.submit_nominal(
                policy_tick.nominal, stamp_s=stamp, now_s=now_s, gains=self._gains
            )
        return PipelineTick(policy_tick, self.safety.tick(now_s))


def _check_action_size(actions: int, actuators: int) -> None:
    if actions != actuators:
        raise ConfigError(
            "model_path",
            f"a policy with {actions} actions",
            f"{actuators} actions, one per actuator of the safety config",
        )
