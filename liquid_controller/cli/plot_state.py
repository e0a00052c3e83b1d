"""``liquid-controller plot-state``: plot the ``~/policy_state`` neuron activity in a bag."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from liquid_controller.cli.arguments import output_file


def register(subparsers: Any) -> None:
    """Add the ``plot-state`` subcommand."""
    parser = subparsers.add_parser(
        "plot-state",
        help="plot the policy node's ~/policy_state (neuron activity) from a bag, as a PNG",
        description=(
            "Read liquid_controller/msg/PolicyState messages from a rosbag2 (record them with "
            "`ros2 bag record /controller_node/policy_state`, or use a `liquid-controller "
            "replay` output bag) and plot every neuron's activity by type, the raster, dt and "
            "inference time, with the hidden-state resets marked. For live plots use "
            "PlotJuggler, Foxglove or `ros2 run liquid_controller policy_state_plot` (see the "
            "README, 'Watching the neurons live')."
        ),
    )
    parser.add_argument("bag", type=Path, metavar="BAG", help="rosbag2 folder")
    parser.add_argument("--topic", help="PolicyState topic (default: the bag's only one)")
    parser.add_argument(
        "--out",
        type=output_file,
        default=Path("policy_state.png"),
        metavar="PNG",
        help="figure to write (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the messages, write the figure, print a one-line summary."""
    from liquid_controller.explain.figures import pyplot
    from liquid_controller.explain.policy_state import policy_state_figure, read_policy_states

    states = read_policy_states(args.bag, args.topic)
    fig = policy_state_figure(states)
    fig.savefig(args.out, dpi=90)
    pyplot().close(fig)
    resets = int(states.state_reset.sum())
    print(f"{states.topic}: {states.t_s.size} steps over {states.t_s[-1]:.2f} s, "
          f"{states.activity.shape[1]} neurons, {resets} resets -> {args.out}")  # fmt: skip
    return 0
