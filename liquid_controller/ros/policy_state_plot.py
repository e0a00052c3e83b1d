"""Plot the policy node's ``~/policy_state`` live, for machines without PlotJuggler or Foxglove.

Run in a shell where the package is sourced::

    ros2 run liquid_controller policy_state_plot [--topic /policy_node/policy_state]
        [--window-s 20] [--every-s 1] [--out state.png]

It subscribes to the ``PolicyState`` topic and redraws, every ``--every-s`` seconds, the
newest ``--window-s`` seconds: every neuron's activity by type, the raster, dt and inference
time with the hidden-state resets marked. With a display it opens a matplotlib window; with
``--out`` (or without a display) it rewrites that PNG instead (atomically: view it with any
image viewer, e.g. over ssh). The drawing is :mod:`liquid_controller.explain.policy_state`'s,
the same as ``liquid-controller plot-state`` for a recorded bag.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.utilities import remove_ros_args

from liquid_controller.explain.policy_state import StateWindow, policy_state_figure
from liquid_controller.msg import PolicyState

__all__ = ["PolicyStatePlot", "main"]


class PolicyStatePlot(Node):  # type: ignore[misc,unused-ignore]
    """Subscribe to a ``PolicyState`` topic and keep its newest seconds in a window."""

    def __init__(self, topic: str, window_s: float) -> None:
        super().__init__("policy_state_plot")
        self.window = StateWindow(topic, window_s)
        self.create_subscription(PolicyState, topic, self.window.add, 100)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ros2 run liquid_controller policy_state_plot")
    parser.add_argument("--topic", default="/policy_node/policy_state", help="PolicyState topic")
    parser.add_argument("--window-s", type=float, default=20.0, help="seconds shown")
    parser.add_argument("--every-s", type=float, default=1.0, help="seconds between redraws")
    parser.add_argument("--out", type=Path, help="rewrite this PNG instead of opening a window")
    args = parser.parse_args(argv)
    for name in ("window_s", "every_s"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0")
    return args


def _figure(args: argparse.Namespace) -> tuple[Any, Any]:
    """Return ``(pyplot, figure)``: an interactive window, or an Agg figure for ``--out``."""
    import matplotlib

    headless = args.out is not None or not (os.environ.get("DISPLAY") or sys.platform == "darwin")
    if headless:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if headless and args.out is None:
        args.out = Path("policy_state.png")
        print(f"no display: writing {args.out}", flush=True)
    if not headless:
        plt.ion()
    return plt, plt.figure(figsize=(11, 9))


def _redraw(plot: PolicyStatePlot, plt: Any, fig: Any, out: Path | None) -> None:
    states = plot.window.states()
    if states is None:
        return
    policy_state_figure(states, fig)
    if out is None:
        plt.pause(0.001)
        return
    partial = out.with_name(f".{out.name}.partial.png")
    fig.savefig(partial, dpi=80)
    os.replace(partial, out)
    print(f"{plot.window.received} messages; {states.t_s.size} in the window -> {out}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Plot until SIGINT or external shutdown; return the exit status.

    Args:
        argv: the command line with the program name first (default ``sys.argv``); ROS
            arguments (``--ros-args ...``) go to rclpy.
    """
    argv = sys.argv if argv is None else argv
    args = _arguments(remove_ros_args(argv)[1:])
    plt, fig = _figure(args)
    rclpy.init(args=argv)
    plot: PolicyStatePlot | None = None
    try:
        plot = PolicyStatePlot(args.topic, args.window_s)
        due = time.monotonic()
        while rclpy.ok():
            rclpy.spin_once(plot, timeout_sec=0.05)
            if time.monotonic() >= due:
                _redraw(plot, plt, fig, args.out)
                due = time.monotonic() + args.every_s
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if plot is not None:
            plot.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
