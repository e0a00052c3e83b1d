"""``liquid-controller init-policy``: write a freshly initialised (untrained) policy checkpoint."""

from __future__ import annotations

import argparse
from typing import Any

_DESCRIPTION = (
    "Write a checkpoint of the default policy for the example differential-drive robot "
    "(wheels left/right in N*m, 6-field IMU, optional 66x200 RGB camera, CfC or LTC core "
    "on an AutoNCP(19, 2) wiring). The weights are randomly initialised and UNTRAINED: "
    "the file is a starting point for training and a fixture for the tooling "
    "(export, bench, replay), not a controller to drive a robot with."
)


def register(subparsers: Any) -> None:
    """Add the ``init-policy`` subcommand."""
    parser = subparsers.add_parser(
        "init-policy",
        help="write an untrained default policy checkpoint",
        description=_DESCRIPTION,
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="checkpoint file to write")
    parser.add_argument(
        "--seed",
        type=int,
        default=22222,
        help="seed of the wiring and of the weight initialisation (default: %(default)s)",
    )
    parser.add_argument(
        "--cell", choices=("cfc", "ltc"), default="cfc", help="liquid core (default: %(default)s)"
    )
    parser.add_argument(
        "--no-camera", action="store_true", help="IMU-only policy (no image encoder)"
    )
    parser.add_argument(
        "--barrier-params",
        type=int,
        default=0,
        metavar="N",
        help="add a barrier head with N positive outputs for the safety layer (default: 0)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the default policy with ``args`` and save it; return the exit code."""
    import torch

    from liquid_controller.errors import ConfigError
    from liquid_controller.models.checkpoint import save_checkpoint
    from liquid_controller.models.policy import (
        LiquidPolicy,
        default_policy_config,
        default_policy_spec,
    )

    if args.barrier_params < 0:
        raise ConfigError("--barrier-params", args.barrier_params, "an integer >= 0")
    torch.manual_seed(args.seed)
    spec = default_policy_spec(camera=not args.no_camera, barrier_params=args.barrier_params)
    policy = LiquidPolicy(default_policy_config(cell=args.cell, seed=args.seed), spec)
    save_checkpoint(
        args.out,
        policy,
        metadata={"trained": False, "created_with": "init-policy", "seed": args.seed},
    )
    parameters = sum(p.numel() for p in policy.parameters())
    print(f"wrote untrained {args.cell} policy ({parameters} parameters) to {args.out}")
    return 0
