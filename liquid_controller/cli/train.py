"""``liquid-controller train``: train a policy on a dataset of recordings, or resume a run."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

_DESCRIPTION = (
    "Train a policy (CfC or LTC on an NCP wiring, or an LSTM / feed-forward baseline with "
    "the same camera encoder) on the episodes of a dataset config, with truncated "
    "backpropagation through time over windows of each episode. Writes a run directory: "
    "last.ckpt and best.ckpt (what export, the demo and the nodes load), metrics.csv, "
    "loss.png, train_state.pt (for --resume) and a copy of the config. For several "
    "processes, launch with torchrun: torchrun --nproc_per_node N --no-python "
    "liquid-controller train CONFIG.yaml (gloo on CPU, nccl on CUDA)."
)


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train", help="train a policy on recorded episodes", description=_DESCRIPTION
    )
    parser.add_argument("config", type=Path, metavar="CONFIG", help="training config (YAML)")
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last completed epoch",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the config and the dataset, train, print where the results are; return 0."""
    from liquid_controller.train.train_config import load_train_config
    from liquid_controller.train.trainer import load_training_data, train

    config = load_train_config(args.config)
    if args.resume is not None:
        config = dataclasses.replace(config, run_dir=args.resume)
    splits = load_training_data(config, progress=not args.no_progress)
    result = train(config, splits, resume=args.resume is not None, progress=not args.no_progress)
    if result.history:
        how = "stopped early" if result.stopped_early else "done"
        print(
            f"train: {how} after {result.epochs_run} epoch(s); best validation loss "
            f"{result.best_validation_loss:.4g} at epoch {result.best_epoch + 1}: "
            f"{result.run_dir / 'best.ckpt'} (metrics: {result.run_dir / 'metrics.csv'})"
        )
    return 0
