"""The policy node's ``~/policy_state`` messages from a bag, as arrays and a figure.

``liquid_controller/msg/PolicyState`` carries, per network step, every neuron's activity
(neuron order), the neurons' roles (``neuron_types``), the ``dt_s`` integrated, the step's
``inference_time_s`` and ``state_reset``. Record it with ``ros2 bag record`` (or take a
``liquid-controller replay`` output bag) and plot it with ``liquid-controller plot-state``
when PlotJuggler or Foxglove is not at hand; :class:`StateWindow` keeps the newest seconds
for the live plot of ``liquid_controller.ros.policy_state_plot``.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError, MessageConversionError

__all__ = [
    "POLICY_STATE_TYPE",
    "PolicyStates",
    "StateWindow",
    "policy_state_figure",
    "read_policy_states",
]

POLICY_STATE_TYPE = "liquid_controller/msg/PolicyState"


class PolicyStates(NamedTuple):
    """Every ``PolicyState`` of one topic, in log-time order.

    Attributes:
        topic: the topic read.
        t_s: ``(n,)`` header stamps, seconds since the first message.
        activity: ``(n, N)`` every neuron's activity.
        neuron_types: role of each of the ``N`` neurons (from the first message).
        dt_s, inference_time_s: ``(n,)`` per step.
        state_reset: ``(n,)`` bool, the hidden state was reset before the step.
    """

    topic: str
    t_s: npt.NDArray[np.float64]
    activity: npt.NDArray[np.float64]
    neuron_types: tuple[str, ...]
    dt_s: npt.NDArray[np.float64]
    inference_time_s: npt.NDArray[np.float64]
    state_reset: npt.NDArray[np.bool_]


def read_policy_states(bag: str | os.PathLike[str], topic: str | None = None) -> PolicyStates:
    """Read the ``PolicyState`` messages of ``topic`` (default: the bag's only such topic).

    Raises:
        ConfigError: no such bag or topic, no or several ``PolicyState`` topics without
            ``topic``, or a topic of another type.
        MessageConversionError: the neuron count changes within the topic.
    """
    from liquid_controller.data.bags import read_streams

    streams = read_streams(bag, None if topic is None else [topic])
    if topic is None:
        found = sorted(t for t, s in streams.items() if s.msgtype == POLICY_STATE_TYPE)
        if len(found) != 1:
            raise ConfigError(
                "--topic", None, f"one of the bag's PolicyState topics (found {found or 'none'})"
            )
        topic = found[0]
    stream = streams[topic]
    if stream.msgtype != POLICY_STATE_TYPE:
        raise ConfigError("--topic", topic, f"a {POLICY_STATE_TYPE} topic, not {stream.msgtype}")
    messages: list[Any] = stream.messages
    width = len(messages[0].activity)
    for index, msg in enumerate(messages):
        if len(msg.activity) != width:
            raise MessageConversionError(
                f"{topic}[{index}].activity", f"{len(msg.activity)} values; the first had {width}"
            )
    stamps = np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in messages])
    return PolicyStates(
        topic,
        stamps - stamps[0],
        np.array([np.asarray(m.activity, dtype=np.float64) for m in messages]),
        tuple(messages[0].neuron_types) or ("unit",) * width,
        np.array([m.dt_s for m in messages], dtype=np.float64),
        np.array([m.inference_time_s for m in messages], dtype=np.float64),
        np.array([m.state_reset for m in messages], dtype=bool),
    )


class StateWindow:
    """The newest ``window_s`` seconds of ``PolicyState`` messages, for a live plot.

    A message with another neuron count (the node restarted with another model) starts the
    window afresh.
    """

    def __init__(self, topic: str, window_s: float) -> None:
        if not window_s > 0:
            raise ConfigError("window_s", window_s, "a duration > 0 s")
        self.topic = topic
        self.window_s = float(window_s)
        self._rows: deque[tuple[float, npt.NDArray[np.float64], float, float, bool]] = deque()
        self._types: tuple[str, ...] = ()
        self.received = 0

    def add(self, msg: Any) -> None:
        """Keep one ``PolicyState`` message (anything with its field names)."""
        activity = np.asarray(msg.activity, dtype=np.float64)
        if self._rows and activity.size != self._rows[-1][1].size:
            self._rows.clear()
        if not self._rows:
            self._types = tuple(msg.neuron_types) or ("unit",) * activity.size
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        self._rows.append(
            (stamp, activity, float(msg.dt_s), float(msg.inference_time_s), bool(msg.state_reset))
        )
        while self._rows and self._rows[0][0] < stamp - self.window_s:
            self._rows.popleft()
        self.received += 1

    def states(self) -> PolicyStates | None:
        """Return the window's messages as arrays (time from its first), ``None`` when empty."""
        if not self._rows:
            return None
        stamps, activity, dt_s, inference_s, resets = zip(*self._rows, strict=True)
        t = np.asarray(stamps, dtype=np.float64)
        return PolicyStates(
            self.topic,
            t - t[0],
            np.asarray(activity),
            self._types,
            np.asarray(dt_s),
            np.asarray(inference_s),
            np.asarray(resets, dtype=bool),
        )


def policy_state_figure(states: PolicyStates, fig: Any = None) -> Any:
    """Draw traces per neuron type, the raster, and dt / inference time with the resets marked.

    Args:
        states: what to draw.
        fig: a figure to draw into (cleared first; for a live window), or ``None`` for a new one.
    """
    from liquid_controller.explain.figures import TYPE_ORDER, pyplot, raster_axes, type_panels

    types = len({kind for kind in TYPE_ORDER if kind in states.neuron_types})
    ratios = [2] * types + [max(3, states.activity.shape[1] // 6), 1]
    if fig is None:  # (a given figure keeps its own backend, e.g. an interactive window)
        fig = pyplot().figure(figsize=(11, sum(ratios) + 1))
    fig.clf()
    axes = fig.subplots(types + 2, 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    type_panels(axes[:types], states.t_s, states.activity, states.neuron_types)
    raster_axes(fig, axes[types], states.t_s, states.activity, states.neuron_types)
    ax = axes[-1]
    ax.plot(states.t_s, 1e3 * states.dt_s, lw=0.9, label="dt (ms)")
    ax.plot(states.t_s, 1e3 * states.inference_time_s, lw=0.9, label="inference (ms)")
    for t in states.t_s[states.state_reset]:
        ax.axvline(t, color="red", lw=0.8, alpha=0.6)
    ax.set_xlabel("time (s); red lines: hidden state reset")
    ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{states.topic}: {states.activity.shape[1]} neurons, {states.t_s.size} steps")
    fig.tight_layout()
    return fig
