"""Drive the offline controller with a bag: messages in bag order, the bag's time as the clock.

The node clock is the log (receive) time of the message being delivered, so arrival ages,
input timeouts and the ticks' times follow the recording, while dt inside the policy comes
from the header stamps (the runners' rules). The control timer fires at every period
``start + k / rate_hz`` (``start``: the first message's log time), like a node's timer on a
clock that advances finely; the diagnostics timer at every ``diagnostics_period_s``. A tick
due at time ``T`` sees every message logged at or before ``T``. ``trigger: camera`` ticks on
each accepted frame, and the timer only while an input is stale, as the nodes do
(:mod:`liquid_controller.control.tick_trigger`).

Log times that go backwards (possible only in a walked, damaged MCAP file, which is in file
order) are delivered at the current clock and counted; the clock never goes back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from liquid_controller.control.diagnostics import DiagnosticRecord
from liquid_controller.control.pipeline import PipelineTick
from liquid_controller.control.tick_trigger import steps_on_camera_frame, steps_on_timer
from liquid_controller.replay.controller import OfflineController
from liquid_controller.replay.source import BagSource, RawMessage
from liquid_controller.replay.topics import InputTopics

__all__ = ["ReplayObserver", "ReplayRun", "run_replay"]

NS_PER_S = 1_000_000_000


class ReplayObserver(Protocol):
    """Receives what happens during a replay (the output bag, the report)."""

    def on_input(self, role: str, raw: RawMessage, message: Any, now_ns: int) -> None:
        """A message of input ``role`` was delivered (``message`` ``None``: undecodable)."""
        ...

    def on_tick(self, now_ns: int, tick: PipelineTick, compute_s: float) -> None:
        """A control tick ran at ``now_ns``; ``compute_s``: its compute time."""
        ...

    def on_diagnostics(self, now_ns: int, records: dict[str, list[DiagnosticRecord]]) -> None:
        """The diagnostics timer fired: records by node name."""
        ...


@dataclass
class ReplayRun:
    """What a replay did, besides the ticks (which the observers saw)."""

    start_ns: int | None = None
    """Log time of the first message delivered (the clock's start)."""
    end_ns: int | None = None
    """The clock at the end (the last message, plus the tail)."""
    messages: dict[str, int] = field(default_factory=dict)
    """Messages delivered per input role."""
    undecodable: dict[str, int] = field(default_factory=dict)
    """Messages per role that did not deserialise (never reach the controller)."""
    first_undecodable: str = ""
    out_of_order: int = 0
    """Messages logged before the clock (walked damaged MCAP only), delivered at the clock."""
    ticks: int = 0
    wall_s: float = 0.0
    damage: str | None = None


class _Replay:
    def __init__(
        self,
        controller: OfflineController,
        observers: Sequence[ReplayObserver],
        run: ReplayRun,
    ) -> None:
        self.controller = controller
        self.observers = observers
        self.run = run
        values = controller.values
        self.trigger = str(values["trigger"])
        self.period_ns = round(NS_PER_S / float(values["rate_hz"]))
        self.diag_ns = round(NS_PER_S * float(values["diagnostics_period_s"]))
        self.clock: int | None = None
        self.next_tick = 0
        self.next_diag = 0

    def start(self, log_ns: int) -> None:
        self.clock = log_ns
        self.run.start_ns = log_ns
        self.next_tick = log_ns + self.period_ns
        self.next_diag = log_ns + self.diag_ns

    def advance(self, limit_ns: int, *, inclusive: bool) -> None:
        """Fire the timers due before ``limit_ns`` (or at it, when ``inclusive``)."""
        while True:
            due = min(self.next_tick, self.next_diag)
            if due > limit_ns or (due == limit_ns and not inclusive):
                return
            self.clock = due
            if self.next_tick <= self.next_diag:
                self.next_tick += self.period_ns
                if steps_on_timer(self.trigger, self.controller.policy_runner, due / NS_PER_S):
                    self.tick(due)
            else:
                self.next_diag += self.diag_ns
                records = self.controller.records(due / NS_PER_S)
                for observer in self.observers:
                    observer.on_diagnostics(due, records)

    def tick(self, now_ns: int) -> None:
        tick, compute_s = self.controller.tick(now_ns / NS_PER_S)
        self.run.ticks += 1
        for observer in self.observers:
            observer.on_tick(now_ns, tick, compute_s)

    def deliver(self, role: str, raw: RawMessage, message: Any, now_ns: int) -> None:
        for observer in self.observers:
            observer.on_input(role, raw, message, now_ns)
        if message is None:
            return
        now_s = now_ns / NS_PER_S
        controller = self.controller
        if role == "camera":
            accepted = controller.feed.image(message, now_s)
            runner = controller.policy_runner
            if accepted and steps_on_camera_frame(self.trigger, runner, now_s):
                self.tick(now_ns)
        elif role == "imu":
            controller.feed.imu(message, now_s)
        elif role == "joint_states":
            controller.joints.joint_state(message, now_s)


def _roles(topics: InputTopics) -> dict[str, str]:
    roles = {
        topics.camera: "camera",
        topics.imu: "imu",
        topics.joint_states: "joint_states",
        topics.executed: "executed",
    }
    return {topic: role for topic, role in roles.items() if topic}


def run_replay(
    source: BagSource,
    controller: OfflineController,
    topics: InputTopics,
    observers: Sequence[ReplayObserver],
    *,
    tail_s: float = 0.0,
) -> ReplayRun:
    """Replay the bag through the controller, telling ``observers`` everything.

    Args:
        source: the open input bag.
        controller: the controller, fresh.
        topics: which topics feed which input.
        observers: receive inputs, ticks and diagnostics, in time order.
        tail_s: keep the clock running this long after the last message (the inputs go
            stale and the safe command goes out, as on a robot whose sensors stop).

    Returns:
        The run's counts, its wall time and the bag's damage (``None`` if intact).
    """
    run = ReplayRun()
    replay = _Replay(controller, observers, run)
    roles = _roles(topics)
    started = time.perf_counter()
    for raw in source.messages(roles):
        log_ns = raw.log_ns
        if replay.clock is None:
            replay.start(log_ns)
        assert replay.clock is not None
        if log_ns < replay.clock:
            run.out_of_order += 1
            log_ns = replay.clock
        replay.advance(log_ns, inclusive=False)
        replay.clock = log_ns
        role = roles[raw.topic]
        run.messages[role] = run.messages.get(role, 0) + 1
        try:
            message = source.deserialize(raw)
        except Exception as err:  # noqa: BLE001 - any decoder failure: count, skip, go on
            message = None
            run.undecodable[role] = run.undecodable.get(role, 0) + 1
            if not run.first_undecodable:
                run.first_undecodable = (
                    f"{raw.topic} at {raw.log_ns / NS_PER_S:.3f} s: {type(err).__name__}: {err}"
                )
        replay.deliver(role, raw, message, log_ns)
    if replay.clock is not None:
        replay.advance(replay.clock + round(tail_s * NS_PER_S), inclusive=True)
    run.end_ns = replay.clock
    run.wall_s = time.perf_counter() - started
    run.damage = source.damage
    return run
