"""``liquid-controller sim``: record expert bags and evaluate policies in the MuJoCo world."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from liquid_controller.cli.arguments import bounded_float, bounded_int, output_file


def register(subparsers: Any) -> None:
    """Add the ``sim`` subcommand with ``collect``, ``evaluate`` and ``compare``."""
    parser = subparsers.add_parser(
        "sim",
        help="MuJoCo lane-keeping world: record expert bags, evaluate policies in closed loop",
        description="The MuJoCo lane-keeping world built from description/diff_drive.urdf "
        "(needs the sim extra: pip install 'liquid_controller[sim]'; renders with "
        "MUJOCO_GL=egl by default).",
    )
    actions = parser.add_subparsers(dest="sim_command", metavar="ACTION")
    collect = actions.add_parser(
        "collect",
        help="the perturbed expert drives randomised worlds; one rosbag2 (mcap) per episode",
        description="Record episodes of the privileged expert (pure pursuit with noise and "
        "drifts, so the data holds recoveries) as the bags a real robot records: "
        "/camera/image_raw, /imu/data, /joint_states and the executed command on "
        "/effort_controller/commands, and the command the expert intended (no perturbation: "
        "the imitation label) on /expert/commands. They train with `liquid-controller train` "
        "unchanged.",
    )
    collect.add_argument("--episodes", type=bounded_int(1, 100_000), required=True)
    collect.add_argument("--out", type=Path, required=True, metavar="DIR", help="bag folder")
    collect.add_argument(
        "--seconds", type=bounded_float(0.0, 3600.0, low_inclusive=False), default=30.0,
        help="simulated seconds per episode (default: %(default)s)",
    )  # fmt: skip
    collect.add_argument(
        "--track", action="append", metavar="NAME",
        help="track name or YAML file, repeatable (default: every track not held out)",
    )  # fmt: skip
    collect.add_argument("--seed", type=bounded_int(0, 2**31 - 1), default=0,
                         help="seed of the first episode; episode i uses seed + i")  # fmt: skip
    collect.add_argument(
        "--driver", default=None, metavar="MODEL",
        help="a policy file that drives instead, behind the safety filter, while the expert "
        "labels the states it visits on /expert/commands (DAgger)",
    )  # fmt: skip
    _common(collect)
    collect.set_defaults(func=run_collect)

    evaluate = actions.add_parser(
        "evaluate",
        help="closed-loop lane-keeping metrics of a policy behind the safety filter",
        description="Drive the world with MODEL through the control pipeline (policy runner "
        "+ safety filter, as on the robot) and report Duckietown-style metrics per episode: "
        "survival time, distance, laps, mean and max |lateral error|, departures per km, "
        "max |effort| against the limit, limit violations, interventions, compute times.",
    )
    evaluate.add_argument(
        "--model", required=True,
        help="policy file (.npz artifact or torch checkpoint), or 'expert' for the expert",
    )  # fmt: skip
    evaluate.add_argument("--no-safety", action="store_true",
                          help="apply the policy's nominal command, not the filter's")  # fmt: skip
    evaluate.add_argument(
        "--safety-config", default=None, metavar="YAML",
        help="safety filter config (default: the package's config/sim_safety.yaml)",
    )  # fmt: skip
    evaluate.add_argument(
        "--camera-noise", type=bounded_float(0.0, 1.0), default=None, metavar="SIGMA",
        help="pixel noise std, fraction of full scale (default: each world's own draw)",
    )  # fmt: skip
    evaluate.add_argument(
        "--track", action="append", metavar="NAME",
        help="track name or YAML file, repeatable (default: every package track)",
    )  # fmt: skip
    evaluate.add_argument("--seeds", type=bounded_int(0, 2**31 - 1), nargs="+", default=[0])
    evaluate.add_argument("--laps", type=bounded_float(0.0, 1000.0, low_inclusive=False),
                          default=1.0, help="laps per episode (default: %(default)s)")  # fmt: skip
    evaluate.add_argument(
        "--max-seconds", type=bounded_float(0.0, 3600.0, low_inclusive=False), default=120.0,
        help="simulated time limit per episode (default: %(default)s)",
    )  # fmt: skip
    evaluate.add_argument("--json", type=output_file, default=None, metavar="PATH",
                          help="also write settings, episodes and summary as JSON")  # fmt: skip
    _common(evaluate)
    evaluate.set_defaults(func=run_evaluate)
    _register_compare(actions)
    parser.set_defaults(func=lambda args: _usage(parser))


def _register_compare(actions: Any) -> None:
    from liquid_controller.sim.compare import CELLS, LIGHTING, CompareBudget

    defaults = CompareBudget()
    compare = actions.add_parser(
        "compare",
        help="train CfC-NCP, LTC-NCP, LSTM and CNN alike; compare them in closed loop",
        description="Train each cell on the train config's dataset with the same encoder "
        "and budget (several weight seeds), export each to the torch-free runtime, time its "
        "step, and drive it in closed loop under increasing camera noise and unseen "
        "lighting, with and without the safety filter. Writes REPORT (Markdown), its JSON "
        "twin and figures beside it. Needs the torch and sim extras and the dataset's bags "
        "(e.g. from `make train-default-policy` or `sim collect`).",
    )
    compare.add_argument(
        "--config",
        default="config/lane_train.yaml",
        metavar="YAML",
        help="training config: data, encoder, optimiser (default: %(default)s)",
    )
    compare.add_argument(
        "--work",
        type=Path,
        default=Path("runs/compare"),
        metavar="DIR",
        help="training runs and artifacts (default: %(default)s)",
    )
    compare.add_argument(
        "--report",
        type=output_file,
        default=None,
        metavar="MD",
        help="results file (default: bench/results/closed_loop.md)",
    )
    compare.add_argument(
        "--cell",
        choices=CELLS,
        action="append",
        help="cells to compare, repeatable (default: all four)",
    )
    compare.add_argument(
        "--seeds",
        type=bounded_int(1, 100),
        default=defaults.seeds,
        help="weight seeds per cell (default: %(default)s)",
    )
    compare.add_argument(
        "--epochs",
        type=bounded_int(1, 10_000),
        default=defaults.epochs,
        help="training epochs at most (default: %(default)s)",
    )
    compare.add_argument(
        "--episodes",
        type=bounded_int(1, 1000),
        default=defaults.episodes,
        help="evaluation world seeds per track and condition (default: %(default)s)",
    )
    compare.add_argument(
        "--track",
        action="append",
        metavar="NAME",
        help=f"evaluation track, repeatable (default: {defaults.tracks[0]})",
    )
    compare.add_argument(
        "--laps",
        type=bounded_float(0.0, 1000.0, low_inclusive=False),
        default=defaults.laps,
        help="laps per episode (default: %(default)s)",
    )
    compare.add_argument(
        "--max-seconds",
        type=bounded_float(0.0, 3600.0, low_inclusive=False),
        default=defaults.max_seconds,
        help="simulated time limit per episode (default: %(default)s)",
    )
    compare.add_argument(
        "--camera-noise",
        type=bounded_float(0.0, 1.0),
        nargs="+",
        default=list(defaults.camera_noise),
        metavar="SIGMA",
        help="noise levels (default: %(default)s)",
    )
    compare.add_argument(
        "--lighting",
        choices=list(LIGHTING),
        nargs="*",
        default=list(defaults.lighting),
        help="unseen lightings (default: %(default)s)",
    )
    _common(compare)
    compare.set_defaults(func=run_compare)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=bounded_int(1, 256), default=None,
                        help="worker processes (default: the CPU cores available)")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_collect(args: argparse.Namespace) -> int:
    """Record the episodes; print one line per bag and the totals."""
    from liquid_controller.sim.collect import collect

    summaries = collect(
        args.out,
        args.episodes,
        tracks=tuple(args.track) if args.track else None,
        seconds=args.seconds,
        seed=args.seed,
        workers=args.workers,
        progress=not args.no_progress,
        driver=args.driver,
    )
    for s in summaries:
        print(
            f"{s.bag}: {s.track} seed {s.seed}, {s.sim_seconds:.1f} s, {s.frames} frames, "
            f"{s.laps:.2f} laps, {s.departures} departures, max |lateral| "
            f"{s.max_abs_lateral_m:.3f} m"
        )
    frames = sum(s.frames for s in summaries)
    seconds = sum(s.sim_seconds for s in summaries)
    print(f"sim collect: {len(summaries)} bags, {frames} frames, {seconds:.1f} simulated s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate the model; print the table and the summary (and write the JSON)."""
    from liquid_controller.sim.evaluate import (
        EvaluateJob,
        evaluate,
        format_table,
        job_settings,
        metrics_json,
    )
    from liquid_controller.sim.track import track_names

    tracks = tuple(args.track) if args.track else track_names()
    metrics = evaluate(
        args.model,
        tracks=tracks,
        seeds=args.seeds,
        laps=args.laps,
        max_seconds=args.max_seconds,
        safety_config=args.safety_config,
        safety=not args.no_safety,
        camera_noise=args.camera_noise,
        workers=args.workers,
        progress=not args.no_progress,
    )
    settings = job_settings(
        EvaluateJob(
            args.model,
            "",
            0,
            args.laps,
            args.max_seconds,
            args.safety_config,
            not args.no_safety,
            args.camera_noise,
        )  # fmt: skip
    )
    document = metrics_json(metrics, {**settings, "tracks": list(tracks), "seeds": args.seeds})
    print(format_table(metrics))
    summary = document["summary"]
    print(
        f"summary: {summary['completed']}/{summary['episodes']} episodes completed, "
        f"{summary['laps_total']:.2f} laps, {summary['departures_per_km']:.1f} departures/km, "
        f"max |effort| {summary['max_abs_effort']:.2f} of {summary['effort_limit']:.2f} N*m, "
        f"{summary['limit_violations']} limit violations, "
        f"{summary['interventions']} filter interventions"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Train, evaluate and write the comparison; print the headline."""
    from liquid_controller.package_files import find_data_file
    from liquid_controller.sim.compare import CompareBudget, compare
    from liquid_controller.sim.compare_report import headline, write_report

    budget = CompareBudget(
        cells=tuple(args.cell) if args.cell else CompareBudget().cells,
        seeds=args.seeds,
        epochs=args.epochs,
        episodes=args.episodes,
        tracks=tuple(args.track) if args.track else CompareBudget().tracks,
        laps=args.laps,
        max_seconds=args.max_seconds,
        camera_noise=tuple(args.camera_noise),
        lighting=tuple(args.lighting),
    )
    report = args.report or Path("bench/results/closed_loop.md")
    config = Path(args.config)
    if not config.exists():  # a package file, like the default
        config = find_data_file(args.config, key="--config")
    document = compare(config, args.work, budget, workers=args.workers,
                       progress=not args.no_progress)  # fmt: skip
    reduced = _reduction(budget)
    for path in write_report(document, report, reduced=reduced):
        print(f"wrote {path}")
    print(headline(document))
    return 0


def _reduction(budget: Any) -> str | None:
    """Describe how ``budget`` falls short of the full comparison's, or ``None``."""
    import dataclasses

    from liquid_controller.sim.compare import CompareBudget

    full = CompareBudget()
    smaller = [
        f"{field.name} {getattr(budget, field.name)!r} instead of {getattr(full, field.name)!r}"
        for field in dataclasses.fields(full)
        if getattr(budget, field.name) != getattr(full, field.name)
    ]
    return "; ".join(smaller) or None
