"""``liquid-controller evaluate``: open-loop metrics of a trained policy on held-out episodes."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

_DESCRIPTION = (
    "Step a policy (checkpoint or exported artifact) through the episodes of a dataset "
    "split with the recorded observations and dt, and compare its commands with the "
    "recorded ones: per action MAE, RMSE and R2, with and without the safety filter "
    "applied to the predictions (--safety). Writes summary.json and one plot of "
    "predicted against recorded commands per episode."
)


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate", help="open-loop metrics on held-out episodes", description=_DESCRIPTION
    )
    parser.add_argument(
        "--model", required=True, type=Path, metavar="M", help="checkpoint (.ckpt) or artifact"
    )
    parser.add_argument("data", type=Path, metavar="DATA_CONFIG", help="dataset config (YAML)")
    parser.add_argument(
        "--split",
        choices=("train", "validation", "test"),
        default="test",
        help="episodes to evaluate on (default: %(default)s)",
    )
    parser.add_argument(
        "--safety", type=Path, metavar="SAFETY_YAML", help="also score the filtered commands"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="report folder (default: evaluation/ beside M)"
    )
    parser.set_defaults(func=run)


def _cell(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"


def run(args: argparse.Namespace) -> int:
    """Evaluate, print a table, write the report; return 0."""
    from liquid_controller.control.policy_loading import load_policy
    from liquid_controller.train.dataset import load_dataset
    from liquid_controller.train.evaluate import evaluate_policy, write_report

    policy = load_policy(args.model)
    splits = load_dataset(args.data)
    summary, predictions = evaluate_policy(
        policy, splits, args.split, safety_config=args.safety, model_name=str(args.model)
    )
    out = args.out if args.out is not None else args.model.parent / "evaluation"
    written = write_report(out, summary, predictions)
    print(f"evaluate: {summary['episodes']} {args.split} episode(s), {summary['ticks']} ticks")
    for kind in ("nominal", "filtered"):
        if kind in summary:
            for name, metric in summary[kind].items():
                print(
                    f"  {kind:8s} {name}: MAE {_cell(metric['mae'])}  "
                    f"RMSE {_cell(metric['rmse'])}  R2 {_cell(metric['r2'])}"
                )
    print(f"evaluate: wrote {written[0]} and {len(written) - 1} plot(s) in {out}")
    return 0
