"""What the live nodes would have published during a replay, written to the output bag.

Topics and types as robot.launch.py's default (split) nodes publish them in the root
namespace: the actuator commands, the policy node's nominal command (empty when it has
none), ``PolicyState`` on every step, ``SafetyStatus`` with every command, and one
``DiagnosticArray`` per node per diagnostics period. Log times are the replay clock, so the
output lines up with the input bag. Optionally the input topics are copied through
unchanged, and the executed commands under ``/recorded`` (they would clash with the
replayed ones).
"""

from __future__ import annotations

from typing import Any

from liquid_controller.control.diagnostics import DiagnosticRecord
from liquid_controller.control.pipeline import PipelineTick
from liquid_controller.data.typestore import POLICY_STATE, SAFETY_STATUS
from liquid_controller.replay.controller import POLICY_NODE, SAFETY_NODE
from liquid_controller.replay.messages import (
    DIAGNOSTIC_ARRAY,
    FLOAT64_MULTI_ARRAY,
    OutputMessages,
)
from liquid_controller.replay.output_bag import OutputBag
from liquid_controller.replay.source import RawMessage
from liquid_controller.replay.topics import COMMAND_TOPIC

__all__ = ["OUTPUT_TOPICS", "RECORDED_PREFIX", "BagPublisher"]

OUTPUT_TOPICS = {
    "command": (COMMAND_TOPIC, FLOAT64_MULTI_ARRAY),
    "nominal": (f"/{POLICY_NODE}/nominal_command", FLOAT64_MULTI_ARRAY),
    "policy_state": (f"/{POLICY_NODE}/policy_state", POLICY_STATE),
    "safety_status": (f"/{SAFETY_NODE}/safety_status", SAFETY_STATUS),
    "diagnostics": ("/diagnostics", DIAGNOSTIC_ARRAY),
}
"""Output name -> (topic, message type)."""
RECORDED_PREFIX = "/recorded"


class BagPublisher:
    """A replay observer that writes the nodes' outputs (and optionally the inputs).

    Args:
        bag: the open output bag.
        messages: builds the messages.
        publish_policy_state: the ``publish_policy_state`` parameter.
        publish_safety_status: the ``publish_safety_status`` parameter.
        copy_inputs: also write every input message (executed commands under ``/recorded``).
    """

    def __init__(
        self,
        bag: OutputBag,
        messages: OutputMessages,
        *,
        publish_policy_state: bool = True,
        publish_safety_status: bool = True,
        copy_inputs: bool = False,
    ) -> None:
        self._bag = bag
        self._messages = messages
        self._policy_state = publish_policy_state
        self._safety_status = publish_safety_status
        self._copy_inputs = copy_inputs

    def _write(self, name: str, now_ns: int, message: Any) -> None:
        topic, msgtype = OUTPUT_TOPICS[name]
        self._bag.write(topic, msgtype, now_ns, message)

    def on_input(self, role: str, raw: RawMessage, message: Any, now_ns: int) -> None:
        """Copy the input through (``copy_inputs``), at its own log time."""
        if not self._copy_inputs:
            return
        topic = RECORDED_PREFIX + raw.topic if role == "executed" else raw.topic
        self._bag.write_raw(topic, raw.msgtype, raw.log_ns, raw.data)

    def on_tick(self, now_ns: int, tick: PipelineTick, compute_s: float) -> None:
        """Write the command, nominal, and (when enabled) the safety status and policy state."""
        messages = self._messages
        self._write("command", now_ns, messages.command(tick.safety.command))
        self._write("nominal", now_ns, messages.nominal(tick.policy.nominal))
        if self._safety_status:
            self._write("safety_status", now_ns, messages.safety_status(tick.safety, now_ns))
        if self._policy_state and tick.policy.step is not None:
            self._write("policy_state", now_ns, messages.policy_state(tick.policy, now_ns))

    def on_diagnostics(self, now_ns: int, records: dict[str, list[DiagnosticRecord]]) -> None:
        """One ``DiagnosticArray`` per node."""
        for node, node_records in records.items():
            message = self._messages.diagnostics(node_records, now_ns, node)
            self._write("diagnostics", now_ns, message)
