"""``liquid-controller dataset``: build (or find in the cache) a dataset; print its statistics."""

from __future__ import annotations

import argparse
import json
from typing import Any

_DESCRIPTION = (
    "Decode the bags a dataset config names, align them at the policy rate (never looking "
    "ahead), split them by episode, curate, and store the result in the cache as memory-"
    "mapped arrays, so that training and evaluation do not decode the bags again. Prints "
    "the curation statistics (before and, with curation.subsample, after). See "
    "config/dataset.yaml for every key."
)


def register(subparsers: Any) -> None:
    """Add the ``dataset`` subcommand."""
    parser = subparsers.add_parser(
        "dataset",
        help="build and cache a dataset from bags; print its curation statistics",
        description=_DESCRIPTION,
    )
    parser.add_argument("config", metavar="CONFIG.yaml", help="dataset config file")
    parser.add_argument(
        "--json", action="store_true", help="print the full statistics as JSON instead"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build or load ``args.config``'s dataset and print what it holds."""
    from liquid_controller.train.dataset import format_report, prepare_dataset

    progress = not (args.json or args.no_progress)
    prepared = prepare_dataset(args.config, progress=progress)
    splits, statistics = prepared.splits, prepared.splits.statistics
    if args.json:
        print(json.dumps(dict(statistics), indent=2))
        return 0
    if prepared.cached or not progress:  # a build with progress printed it already
        print(format_report(statistics))
    for name in ("train", "validation", "test"):
        episodes = splits.split(name)
        print(f"{name}: {len(episodes)} episodes, {sum(len(e) for e in episodes)} frames")
    dropped = {bag: n for bag, n in statistics["dropped_non_finite"].items() if n}
    if dropped:
        print(f"samples dropped for NaN/inf: {dropped}")
    state = "found in the cache" if prepared.cached else "written to the cache"
    print(f"dataset {state}: {prepared.entry}")
    return 0
