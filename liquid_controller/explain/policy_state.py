"""The policy node's ``~/policy_state`` messages from a bag, as arrays and a figure.

``liquid_controller/msg/PolicyState`` carries, per network step, every neuron's activity
(neuron order), the neurons' roles (``neuron_types``), the ``dt_s`` integrated, the step's
``inference_time_s`` and ``state_reset``. Record it with ``ros2 bag record`` (or take a
``liquid-controller replay`` output bag) and plot it with ``liquid-controller plot-state``
when PlotJuggler or Foxglove is not at hand.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError, MessageConversionError

__all__ = ["POLICY_STATE_TYPE", "PolicyStates", "policy_state_figure", "read_policy_states"]

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


def policy_state_figure(states: PolicyStates) -> Any:
    """Traces per neuron type, the raster, and dt / inference time with the resets marked."""
    from liquid_controller.explain.figures import TYPE_ORDER, pyplot, raster_axes, type_panels

    plt = pyplot()
    types = len({kind for kind in TYPE_ORDER if kind in states.neuron_types})
    ratios = [2] * types + [max(3, states.activity.shape[1] // 6), 1]
    fig, axes = plt.subplots(
        types + 2, 1, figsize=(11, 2 * sum(ratios) / 2 + 1), sharex=True,
        gridspec_kw={"height_ratios": ratios},
    )  # fmt: skip
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
