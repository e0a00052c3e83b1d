"""``liquid-controller explain``: neuron activity, a decision tree and camera saliency, a report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from liquid_controller.cli.arguments import bounded_float, bounded_int
from liquid_controller.errors import ConfigError

ROLES = ("camera", "imu", "joint_states", "target")


def register(subparsers: Any) -> None:
    """Add the ``explain`` subcommand."""
    parser = subparsers.add_parser(
        "explain",
        help="audit a policy on a bag: neuron activity, decision tree, camera saliency (HTML)",
        description=(
            "Run MODEL (.npz artifact or torch checkpoint) over the episodes of a bag (aligned "
            "at the policy rate as for training) or in the MuJoCo lane world (--sim), and "
            "write DIR/report.html (self-contained) "
            "and DIR/explanation.json: every neuron's trace labelled by type, a raster, the "
            "wiring with synapse polarities, a shallow decision tree imitating the network "
            "(fidelity on held-out ticks only), and camera saliency (occlusion through the "
            "torch-free artifact; gradient and VisualBackProp through a checkpoint) with a "
            "summary of where attention concentrates. Needs the explain extra."
        ),
    )
    parser.add_argument("--model", type=Path, required=True, help="policy file (.npz or .ckpt)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bag", type=Path, help="rosbag2 folder (mcap or sqlite3)")
    source.add_argument(
        "--sim",
        action="store_true",
        help="drive the MuJoCo lane world (sim extra); saliency shares on road and markings "
        "from the simulator's ground truth",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("explain_report"),
        metavar="DIR",
        help="report folder (default: %(default)s)",
    )
    parser.add_argument(
        "--dataset-config",
        type=Path,
        metavar="YAML",
        help="dataset config reading the bag (default: the standard topics)",
    )
    parser.add_argument(
        "--rate",
        type=bounded_float(0.0, 1000.0, low_inclusive=False),
        metavar="HZ",
        help="policy rate (default 50, or the config's)",
    )
    parser.add_argument(
        "--topics",
        nargs="+",
        default=[],
        metavar="ROLE:=TOPIC",
        help=f"replace a role's topic, ROLE one of {', '.join(ROLES)}",
    )
    parser.add_argument("--track", default="oval", help="--sim: track name or YAML (oval)")
    parser.add_argument(
        "--seconds",
        type=bounded_float(0.0, 3600.0, low_inclusive=False),
        default=10.0,
        help="--sim: simulated seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=bounded_int(0, 2**31 - 1), default=0, help="--sim: world seed"
    )
    parser.add_argument(
        "--driver",
        choices=("policy", "expert"),
        default="policy",
        help="--sim: who drives; 'expert' for an untrained policy (default: %(default)s)",
    )
    parser.add_argument(
        "--episode",
        type=bounded_int(0, 1_000_000),
        metavar="N",
        help="which stretch of the bag to show (default: the longest)",
    )
    parser.add_argument(
        "--frames",
        type=bounded_int(0, 10_000_000),
        nargs="+",
        metavar="TICK",
        help="ticks whose saliency is drawn (default: 4 evenly spaced)",
    )
    parser.add_argument(
        "--summary-frames",
        type=bounded_int(1, 10_000),
        default=8,
        help="frames averaged by the attention summary (default: %(default)s)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=("gradient", "visualbackprop", "occlusion"),
        default=["gradient", "visualbackprop", "occlusion"],
        help="saliency methods",
    )
    parser.add_argument(
        "--occlusion-patch",
        type=bounded_int(1, 4096),
        metavar="PIXELS",
        help="occlusion patch side (default: 1/8 of the shorter image side)",
    )
    parser.add_argument(
        "--occlusion-stride",
        type=bounded_int(1, 4096),
        metavar="PIXELS",
        help="occlusion patch step (default: the patch side)",
    )
    parser.add_argument(
        "--tree-depth",
        type=bounded_int(1, 20),
        default=3,
        help="maximum depth of the tree (default: %(default)s)",
    )
    parser.add_argument(
        "--tree-bins",
        type=bounded_int(2, 20),
        default=3,
        help="action ranges per actuator (default: %(default)s)",
    )
    parser.add_argument(
        "--tree-holdout",
        type=bounded_float(0.0, 1.0),
        default=0.3,
        help="fraction of ticks held out, at the end (default: %(default)s)",
    )
    parser.add_argument(
        "--tree-features",
        nargs="+",
        metavar="NAME",
        help="features for the tree, names or wildcards, e.g. 'command:*' 'imu.angular_*' "
        "'image.brightness.*' (default: all)",
    )
    parser.set_defaults(func=run)


def _topics(items: list[str]) -> dict[str, str]:
    topics = {}
    for item in items:
        role, sep, topic = item.partition(":=")
        if not sep or role not in ROLES or not topic:
            raise ConfigError("--topics", item, f"ROLE:=TOPIC with ROLE one of {list(ROLES)}")
        topics[role] = topic
    return topics


def run(args: argparse.Namespace) -> int:
    """Explain the model on the bag, write the report, print where it is."""
    from liquid_controller.explain import (
        ExplainOptions,
        bag_dataset_config,
        episodes_from_bag,
        explain,
        load_explained_model,
    )
    from liquid_controller.explain.report import write_report

    patch, stride = args.occlusion_patch, args.occlusion_stride
    if stride is not None and patch is not None and stride > patch:
        raise ConfigError("--occlusion-stride", args.occlusion_stride, "at most the patch side")
    model = load_explained_model(args.model)
    if args.sim:
        from liquid_controller.explain.sim_episode import sim_episode

        source = f"the {args.track} track"
        episodes = [
            sim_episode(
                model.runtime,
                track=args.track,
                seconds=args.seconds,
                seed=args.seed,
                driver=args.driver,
                rate_hz=args.rate or 50.0,
            )
        ]
    else:
        config = bag_dataset_config(
            args.bag,
            model.spec,
            config_path=args.dataset_config,
            rate_hz=args.rate,
            topics=_topics(args.topics),
        )
        source = str(args.bag)
        episodes = episodes_from_bag(args.bag, model.spec, config)
    index = args.episode
    if index is None:
        index = max(range(len(episodes)), key=lambda i: len(episodes[i]))
    options = ExplainOptions(
        frames=None if args.frames is None else tuple(args.frames),
        summary_frames=args.summary_frames,
        methods=tuple(args.methods),
        occlusion_patch=args.occlusion_patch,
        occlusion_stride=args.occlusion_stride,
        tree_depth=args.tree_depth,
        tree_bins=args.tree_bins,
        tree_holdout=args.tree_holdout,
        tree_features=None if args.tree_features is None else tuple(args.tree_features),
    )
    result = explain(model, episodes, index=index, options=options)
    report, numbers = write_report(args.out, result)
    tree = result.tree
    print(
        f"episode        {result.episode.name} ({len(result.episode)} ticks) "
        f"of {len(episodes)} from {source}"
    )
    print(
        f"tree           depth {tree.depth}: fidelity {tree.fidelity:.3f} on "
        f"{tree.held_out_ticks.size} held-out ticks (majority class {tree.majority_share:.3f})"
    )
    print(tree.rules, end="")
    for method, summary in result.attention.items():
        labels = summary.get("labels") or {}
        bands = summary["bands"]
        shares = {k: v["mass"] for k, v in labels.items()} or bands
        where = ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items() if v is not None)
        print(f"attention      {method}: {where or 'no saliency on any summary frame'}")
    for note in result.notes:
        print(f"note           {note}")
    print(f"report         {report}")
    print(f"numbers        {numbers}")
    return 0
