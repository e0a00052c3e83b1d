"""What starts a policy step: the node's ``trigger`` parameter, as rules on the runner's inputs.

``timer``: every timer period. ``camera``: each accepted camera frame while every input
is fresh; the timer then steps only while an input is stale, so the safe command still
goes out on time (never both for the same reason). Shared by the rclpy nodes and offline
replay.
"""

from __future__ import annotations

from liquid_controller.control.policy_runner import PolicyRunner

__all__ = ["TRIGGERS", "steps_on_camera_frame", "steps_on_timer"]

TRIGGERS = ("timer", "camera")


def steps_on_camera_frame(trigger: str, runner: PolicyRunner, now_s: float) -> bool:
    """Whether an accepted camera frame arriving at ``now_s`` starts a step."""
    return trigger == "camera" and not runner.watchdog.stale_inputs(now_s)


def steps_on_timer(trigger: str, runner: PolicyRunner, now_s: float) -> bool:
    """Whether the control timer firing at ``now_s`` starts a step."""
    return trigger == "timer" or bool(runner.watchdog.stale_inputs(now_s))
