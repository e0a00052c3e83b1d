"""``liquid-controller demo``: the whole pipeline in closed loop on the embedded toy robot."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path

from liquid_controller.cli.arguments import bounded_float, bounded_int, output_file
from liquid_controller.errors import LiquidControllerError

DEFAULT_MODEL = "resource/default_policy.npz"
DEFAULT_SAFETY_CONFIG = "config/safety.yaml"
MAX_SECONDS = 3600.0
"""Longest simulated run: an hour at 50 Hz takes a few minutes of compute here."""
MAX_RATE_HZ = 1000.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run a policy and the safety filter in closed loop on the embedded toy robot",
        description=(
            "Drive the embedded differential-drive robot (camera, IMU, wheel encoders; numpy "
            "only) with a liquid policy through the CBF safety filter, in simulated time, and "
            "report what the filter did. Without arguments it runs the package's default "
            f"policy ({DEFAULT_MODEL}, untrained weights) and {DEFAULT_SAFETY_CONFIG}, with a "
            "camera dropout to show the stale-input fallback. Needs no torch and no ROS."
        ),
    )
    parser.add_argument("--model", type=Path, help=f"policy file (default: {DEFAULT_MODEL})")
    parser.add_argument(
        "--safety-config", type=Path, help=f"safety filter YAML (default: {DEFAULT_SAFETY_CONFIG})"
    )
    parser.add_argument(
        "--seconds",
        type=bounded_float(0.0, MAX_SECONDS, low_inclusive=False),
        default=10.0,
        help=f"simulated time, at most {MAX_SECONDS:g} s (default 10)",
    )
    parser.add_argument(
        "--rate-hz",
        type=bounded_float(0.0, MAX_RATE_HZ, low_inclusive=False),
        default=50.0,
        help=f"control rate in (0, {MAX_RATE_HZ:g}] Hz (default 50)",
    )
    parser.add_argument(
        "--seed",
        type=bounded_int(0, 2**32 - 1),
        default=0,
        help="start pose and sensor noise seed, 0 to 2**32-1 (default 0)",
    )
    parser.add_argument(
        "--dropout",
        type=bounded_float(0.0, MAX_SECONDS),
        nargs=2,
        metavar=("START_S", "DURATION_S"),
        default=(4.0, 0.5),
        help="camera silent from START_S for DURATION_S seconds (default 4 0.5; 0 0 for none)",
    )
    parser.add_argument(
        "--json",
        type=output_file,
        metavar="FILE",
        help="also write the report as JSON (its folder must exist)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the closed loop and print the report; exit 1 if a command broke the limits."""
    from liquid_controller.threads import prefer_single_thread

    prefer_single_thread()  # before numpy loads: see liquid_controller.threads
    from liquid_controller.package_files import find_data_file
    from liquid_controller.sim.closed_loop import DropoutWindow, run_closed_loop

    model = args.model or find_data_file(DEFAULT_MODEL, key="--model")
    safety_config = args.safety_config or find_data_file(
        DEFAULT_SAFETY_CONFIG, key="--safety-config"
    )
    start_s, duration_s = args.dropout
    dropout = DropoutWindow(start_s, duration_s) if duration_s > 0 else None
    report = run_closed_loop(
        model,
        safety_config,
        seconds=args.seconds,
        rate_hz=args.rate_hz,
        seed=args.seed,
        dropout=dropout,
    )
    print(f"model          {model}")
    print(f"safety config  {safety_config}")
    print(_format(report, dropout))
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(dataclasses.asdict(report), indent=2) + "\n")
        except OSError as err:
            raise LiquidControllerError(
                f"--json {args.json}: cannot write the report ({err})"
            ) from None
        print(f"report written to {args.json}")
    return 0 if report.commands_within_limits and report.commands_finite else 1


def _format(report, dropout) -> str:  # type: ignore[no-untyped-def]
    limits = ", ".join(
        f"{name} [{lo:g}, {hi:g}]"
        for name, lo, hi in zip(
            report.actuator_names, report.effort_min, report.effort_max, strict=True
        )
    )
    ok = report.commands_within_limits and report.commands_finite
    lines = [
        f"simulated      {report.ticks / report.rate_hz:g} s at {report.rate_hz:g} Hz "
        f"({report.ticks} ticks) on the toy differential-drive robot",
        f"commands       {'all finite and within limits' if ok else 'LIMIT VIOLATION'}: {limits}"
        f" (max |u| {report.max_abs_command:.3f})",
        f"filter         intervened on {report.interventions} ticks, safe command on "
        f"{report.fallback_ticks}",
        "statuses       " + ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items())),
    ]
    if dropout is not None:
        first = report.first_fallback_after_dropout_s
        resumed = report.resumed_after_dropout_s
        lines.append(
            f"camera dropout {dropout.start_s:g}-{dropout.start_s + dropout.duration_s:g} s: "
            + (f"safe command after {first:.3f} s" if first is not None else "no fallback")
            + (f", resumed {resumed:.3f} s after frames returned" if resumed is not None else "")
        )
    lines += [
        f"wheels         max |speed| {report.max_abs_wheel_speed_rad_s:.2f} rad/s, "
        f"travelled {report.distance_travelled_m:.2f} m",
        f"compute        policy step p50 {_us(report.policy_step_us_p50)}, "
        f"p99 {_us(report.policy_step_us_p99)}; "
        f"filter p50 {_us(report.filter_us_p50)}, p99 {_us(report.filter_us_p99)}",
    ]
    return "\n".join(lines)


def _us(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f} us"
