"""``liquid-controller export``: turn a policy checkpoint into a numpy-only runtime artifact."""

from __future__ import annotations

import argparse
from typing import Any

_DESCRIPTION = (
    "Export a policy checkpoint (written by training or init-policy) to one .npz artifact "
    "that liquid_controller.runtime.RuntimePolicy loads and steps with numpy alone - no "
    "torch on the robot. The artifact holds the spec, the architecture and the weights; "
    "loading it never executes code from the file."
)


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint to a torch-free runtime artifact",
        description=_DESCRIPTION,
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="policy checkpoint file")
    parser.add_argument("--out", required=True, metavar="ARTIFACT", help="artifact file to write")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip stepping the exported artifact against the checkpoint",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export ``args.checkpoint`` to ``args.out``; verify it unless ``--no-verify``."""
    from liquid_controller.models.export import export_checkpoint, verify_export

    export_checkpoint(args.checkpoint, args.out)
    message = f"wrote {args.out}"
    if not args.no_verify:
        error = verify_export(args.checkpoint, args.out)
        message += f" (runtime matches the checkpoint over 50 steps: max abs diff {error:.1e})"
    print(message)
    return 0
