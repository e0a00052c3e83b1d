"""The ``liquid-controller`` command line.

Each subcommand lives in its own module in this package, exposing
``register(subparsers)`` that adds its parser and sets ``func`` to a callable
taking the parsed arguments and returning an exit code. Modules import heavy
dependencies (torch, cvxpy) inside ``func`` only, so ``--help`` stays fast and
works without torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from liquid_controller import __version__
from liquid_controller.errors import LiquidControllerError

# Module names under liquid_controller.cli, in the order shown by --help.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "init_policy",
    "export",
    "bench",
    "dataset",
    "train",
    "evaluate",
    "replay",
    "sim",
    "explain",
    "plot_state",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="liquid-controller",
        description="Liquid neural network policies behind a control-barrier-function "
        "safety filter.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"liquid_controller.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except LiquidControllerError as err:
        print(f"liquid-controller {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
