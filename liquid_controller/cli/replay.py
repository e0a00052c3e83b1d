"""``liquid-controller replay``: a recorded bag through the controller, offline, without ROS."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from liquid_controller.cli.arguments import bounded_float
from liquid_controller.cli.demo import DEFAULT_MODEL, DEFAULT_SAFETY_CONFIG
from liquid_controller.errors import ConfigError, LiquidControllerError

ROLES = ("camera", "imu", "joint_states", "executed")
EXIT_DAMAGED = 2
EXIT_LIMIT_VIOLATION = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="replay a bag through the policy and safety filter; write an output bag and a report",
        description=(
            "Feed a rosbag2 recording (mcap or sqlite3) to the composed controller in bag order, "
            "with the bag's time as the clock, applying the nodes' rules (staleness timeouts, "
            "dt from stamps, fallback to the safe command, diagnostics). Writes the topics the "
            "live nodes publish to an output bag, and summary.json + report.html. Exit status: "
            f"0 done; {EXIT_DAMAGED} the input bag is damaged (replayed up to the damage); "
            f"{EXIT_LIMIT_VIOLATION} a command broke the actuator limits (never expected); "
            "1 an error (no replay)."
        ),
    )
    parser.add_argument("bag", type=Path, metavar="BAG", help="input rosbag2 folder")
    parser.add_argument("--model", type=Path, help=f"policy file (default: {DEFAULT_MODEL})")
    parser.add_argument(
        "--safety-config", type=Path, help=f"safety filter YAML (default: {DEFAULT_SAFETY_CONFIG})"
    )
    parser.add_argument(
        "--out", type=Path, metavar="OUT_BAG", help="output bag folder, new (default: BAG_replay)"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="folder for report.html and summary.json (default: OUT_BAG_report)",
    )
    parser.add_argument("--no-report", action="store_true", help="write no report")
    parser.add_argument(
        "--rate",
        type=bounded_float(0.0, 1000.0, low_inclusive=False),
        metavar="HZ",
        help="control rate, the rate_hz parameter (default 50)",
    )
    parser.add_argument(
        "--trigger", choices=("timer", "camera"), help="what starts a step (default timer)"
    )
    parser.add_argument(
        "--storage", choices=("mcap", "sqlite3"), default="mcap", help="output bag storage"
    )
    parser.add_argument(
        "--topics",
        nargs="+",
        default=[],
        metavar="ROLE:=TOPIC",
        help=f"remap input topics, ROLE one of {', '.join(ROLES)} (e.g. camera:=/front/image)",
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME:=VALUE",
        help="a controller_node parameter (repeatable), e.g. -p input_timeout_s:=0.5",
    )
    parser.add_argument(
        "--include-inputs",
        action="store_true",
        help="copy the input topics to the output bag (executed commands under /recorded)",
    )
    parser.add_argument(
        "--tail",
        type=bounded_float(0.0, 3600.0),
        default=0.0,
        metavar="SECONDS",
        help="run the clock on after the last message (inputs go stale: the safe command)",
    )
    parser.set_defaults(func=run)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            raise ConfigError(option, item, "NAME:=VALUE")
        pairs[name] = value
    return pairs


def parameters_of(args: argparse.Namespace) -> dict[str, Any]:
    """The parameter overrides given on the command line (values parsed as YAML scalars)."""
    values: dict[str, Any] = {
        name: yaml.safe_load(text) if text else ""
        for name, text in _pairs(args.param, "--param").items()
    }
    if args.rate is not None:
        values["rate_hz"] = args.rate
    if args.trigger is not None:
        values["trigger"] = args.trigger
    return values


def run(args: argparse.Namespace) -> int:
    """Replay, print the summary, return the exit status."""
    from liquid_controller.threads import prefer_single_thread

    prefer_single_thread()  # before numpy loads: see liquid_controller.threads
    from liquid_controller.package_files import find_data_file
    from liquid_controller.replay import TopicNames, replay_bag

    remaps = _pairs(args.topics, "--topics")
    unknown = sorted(set(remaps) - set(ROLES))
    if unknown:
        raise ConfigError("--topics", unknown, f"roles among {list(ROLES)}")
    bag = args.bag
    out = args.out or bag.with_name(bag.name.rstrip("/") + "_replay")
    if out.exists():
        raise LiquidControllerError(f"--out {out}: exists already; give a new folder")
    report = None if args.no_report else (args.report or out.with_name(out.name + "_report"))
    result = replay_bag(
        bag,
        args.model or find_data_file(DEFAULT_MODEL, key="--model"),
        args.safety_config or find_data_file(DEFAULT_SAFETY_CONFIG, key="--safety-config"),
        out,
        storage=args.storage,
        parameters=parameters_of(args),
        topics=TopicNames(**remaps),
        copy_inputs=args.include_inputs,
        tail_s=args.tail,
        report_dir=report,
    )
    s = result.summary
    print(f"replayed       {s['duration_s']:.3f} s of {bag} in {s['wall_s']:.2f} s "
          f"({s['real_time_factor'] or 0:.1f}x real time)")  # fmt: skip
    print(f"ticks          {s['ticks']} ({s['policy_steps']} policy steps); interventions "
          f"{s['interventions']}; safe command on {s['fallbacks']}")  # fmt: skip
    causes = ", ".join(f"{k} {v}" for k, v in s["fallback_causes"].items()) or "none"
    print(f"fallbacks      {causes}")
    print(f"limits         {s['limit_violations']} violations")
    print(f"output bag     {result.output_bag} ({args.storage})")
    for path in result.report_files:
        print(f"report         {path}")
    if s["damage"]:
        print(f"DAMAGED INPUT  {s['damage']}")
        return EXIT_DAMAGED
    return EXIT_LIMIT_VIOLATION if s["limit_violations"] else 0
