"""``liquid-controller demo``: the shipped policy keeps the lane in the MuJoCo world."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from liquid_controller.cli.arguments import bounded_float, bounded_int, output_file, output_folder
from liquid_controller.errors import LiquidControllerError

DEFAULT_MODEL = "resource/default_policy.npz"
DEFAULT_SAFETY_CONFIG = "config/sim_safety.yaml"
DEFAULT_OUT = "demo_out"
MAX_SECONDS = 3600.0
MAX_RATE_HZ = 500.0
"""The lane environment's highest control rate."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="watch the shipped policy keep the lane in the MuJoCo world, through the filter",
        description=(
            "Drive the simulated robot (MuJoCo lane world, camera + IMU) with a liquid policy "
            "through the CBF safety filter (the lane barrier fed the ground-truth lateral "
            "position), in simulated time, as the nodes run it on a robot. Prints the metrics "
            f"and writes figures and an animation to --out. Defaults: {DEFAULT_MODEL}, "
            f"{DEFAULT_SAFETY_CONFIG}, the oval track, and a camera dropout to show the "
            "stale-input fallback. Needs the sim extra, no torch and no ROS."
        ),
    )
    parser.add_argument("--model", type=Path, help=f"policy file (default: {DEFAULT_MODEL})")
    parser.add_argument(
        "--safety-config", type=Path, help=f"safety filter YAML (default: {DEFAULT_SAFETY_CONFIG})"
    )
    parser.add_argument(
        "--track", default="oval", metavar="NAME",
        help="track name (oval, corners, kidney: held out of training) or YAML file "
        "(default: oval)",
    )  # fmt: skip
    parser.add_argument(
        "--seconds",
        type=bounded_float(0.0, MAX_SECONDS, low_inclusive=False),
        default=50.0,
        help=f"simulated time, at most {MAX_SECONDS:g} s (default 50: two laps of the oval)",
    )
    parser.add_argument(
        "--rate-hz",
        type=bounded_float(0.0, MAX_RATE_HZ, low_inclusive=False),
        default=50.0,
        help=f"control rate in (0, {MAX_RATE_HZ:g}] Hz (default 50)",
    )
    parser.add_argument(
        "--seed",
        type=bounded_int(0, 2**31 - 1),
        default=0,
        help="world seed (colours, light, friction, noise, start pose), 0 to 2**31-1 (default 0)",
    )
    parser.add_argument(
        "--camera-noise",
        type=bounded_float(0.0, 1.0),
        default=None,
        metavar="SIGMA",
        help="camera pixel noise std, fraction of full scale (default: the world's draw)",
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
        "--out",
        type=output_folder,
        default=None,
        metavar="DIR",
        help=f"folder for the figures and the animation (default: ./{DEFAULT_OUT})",
    )
    parser.add_argument(
        "--json",
        type=output_file,
        metavar="FILE",
        help="also write the report as JSON (its folder must exist)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the episode, print the report, write the outputs; exit 1 on a limit violation."""
    from liquid_controller.threads import prefer_single_thread

    prefer_single_thread()  # before numpy loads: see liquid_controller.threads
    from liquid_controller.package_files import find_data_file
    from liquid_controller.sim.demo import run_demo

    model = args.model or find_data_file(DEFAULT_MODEL, key="--model")
    safety_config = args.safety_config or find_data_file(
        DEFAULT_SAFETY_CONFIG, key="--safety-config"
    )
    out = args.out if args.out is not None else _default_out()
    start_s, duration_s = args.dropout
    result = run_demo(
        str(model),
        safety_config=str(safety_config),
        track=args.track,
        seconds=args.seconds,
        seed=args.seed,
        camera_noise=args.camera_noise,
        dropout_s=(start_s, duration_s) if duration_s > 0 else None,
        rate_hz=args.rate_hz,
        progress=not args.no_progress,
    )
    print(f"model          {model}")
    print(f"safety config  {safety_config}")
    print(format_report(result))
    files = write_outputs(result, out)
    print("wrote          " + ", ".join(str(f) for f in files))
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(report_json(result), indent=2) + "\n")
        except OSError as err:
            raise LiquidControllerError(
                f"--json {args.json}: cannot write the report ({err})"
            ) from None
        print(f"report written to {args.json}")
    return 0 if result.metrics.limit_violations == 0 else 1


def _default_out() -> Path:
    path = Path(DEFAULT_OUT)
    try:
        path.mkdir(exist_ok=True)
    except OSError as err:
        raise LiquidControllerError(f"--out {path}: cannot create it ({err})") from None
    return path


def write_outputs(result: Any, out: Path) -> list[Path]:
    """Write the figures and the animation into ``out``; return their paths."""
    from liquid_controller.sim.demo_animation import animation_frames, write_gif
    from liquid_controller.sim.demo_plots import plot_activity, plot_signals, plot_top_view

    names = ("left_wheel", "right_wheel")
    try:
        files = [
            plot_top_view(result, out / "top_view.png"),
            plot_signals(result, out / "signals.png", names),
            plot_activity(result, out / "neurons.png"),
        ]
        files.append(write_gif(animation_frames(result), out / "animation.gif"))
    except OSError as err:
        raise LiquidControllerError(f"--out {out}: cannot write the outputs ({err})") from None
    return files


def format_report(result: Any) -> str:
    """Return the metrics table and what the filter did, as printed."""
    from liquid_controller.sim.evaluate import format_table

    m = result.metrics
    low, high = result.effort_limits
    limits = f"[{low.min():g}, {high.max():g}] N*m"
    ended = (
        f"left the road at {m.survival_s:.2f} s"
        if result.left_road
        else f"ran {m.survival_s:.1f} s"
    )
    lines = [
        format_table([m]),
        "",
        f"episode        {result.track.name}, seed {m.seed}: {ended}, {m.laps:.2f} laps, "
        f"{m.distance_m:.1f} m, {m.departures} lane departures",
        f"commands       {m.limit_violations} limit violations: max |u| {m.max_abs_effort:.3f} "
        f"within {limits}",
        f"filter         acted on {m.interventions} of {m.ticks} ticks, safe command on "
        f"{m.fallbacks}",
    ]
    if result.dropout_s is not None:
        start, duration = result.dropout_s
        first, resumed = result.dropout_response()
        lines.append(
            f"camera dropout {start:g}-{start + duration:g} s: "
            + (f"safe command after {first:.3f} s" if first is not None else "no fallback")
            + (f", resumed {resumed:.3f} s after frames returned" if resumed is not None else "")
        )
    lines.append(
        f"compute        policy step p50 {_us(m.policy_us_p50)}, p99 {_us(m.policy_us_p99)}; "
        f"filter p50 {_us(m.filter_us_p50)}, p99 {_us(m.filter_us_p99)}; wall {m.wall_s:.1f} s"
    )
    return "\n".join(lines)


def report_json(result: Any) -> dict[str, Any]:
    """Return the report as a JSON document: the metrics and the dropout response."""
    first, resumed = result.dropout_response()
    return {
        "track": result.track.name,
        "metrics": result.metrics._asdict(),
        "dropout_s": result.dropout_s,
        "fallback_after_dropout_s": first,
        "resumed_after_dropout_s": resumed,
    }


def _us(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f} us"
