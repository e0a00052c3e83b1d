"""``liquid-controller bench``: run benchmark suites and write their results files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from liquid_controller.benchmarks import DEFAULT_OUT_DIR, SUITES


def register(subparsers: Any) -> None:
    """Add the ``bench`` subcommand."""
    parser = subparsers.add_parser(
        "bench",
        help="measure ours against peers side by side; write results files",
        description=(
            "Run benchmark suites (each measures this package and its peers in one run and "
            "reports ratios against the goals) and write <suite>.md and <suite>.json."
        ),
    )
    parser.add_argument(
        "--suite",
        choices=[*SUITES, "all"],
        default="all",
        help="which suite to run (default: %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions: a smoke run, noisier ratios"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        metavar="DIR",
        help="results directory (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen suites in registry order; return 0."""
    from liquid_controller.benchmarks import load_suite

    names = list(SUITES) if args.suite == "all" else [args.suite]
    for name in names:
        print(f"bench {name}: running{' (quick)' if args.quick else ''} ...", flush=True)
        suite = load_suite(name)
        result = suite.run(quick=args.quick)
        for path in suite.write_results(result, args.out):
            print(f"bench {name}: wrote {path}")
        print(suite.to_markdown(result))
    return 0
