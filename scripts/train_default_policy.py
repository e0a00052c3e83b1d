"""Reproduce the shipped policy (resource/default_policy.ckpt and .npz) from scratch.

Runs the package's own pipeline, seeded, from the repository root (``make
train-default-policy``): the perturbed expert records bags on the training tracks and on
their mirror images (``sim collect``; the package's training tracks turn only left, the
held-out one also right; the label is the command the expert intends, see
config/lane_dataset.yaml),
``train`` fits the CfC on the AutoNCP(19, 2) wiring (config/lane_train.yaml), ``export``
writes the torch-free artifact, and ``sim evaluate`` drives it behind the safety filter on
the held-out track with held-out seeds, writing bench/results/default_policy_eval.json.
Work files go to runs/default_policy/ (bags, dataset cache, the training run), which is
emptied first except for the dataset cache.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import yaml

from liquid_controller.cli import main as cli
from liquid_controller.package_files import find_data_file
from liquid_controller.sim.collect import training_tracks

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "runs" / "default_policy"
EPISODES, SECONDS, COLLECT_SEED = 16, 40.0, 1000  # spread over the tracks in turn
EVAL_SEEDS = ("0", "1", "2")


def run(*argv: str) -> None:
    """Run one ``liquid-controller`` command; stop the script if it fails."""
    print("+ liquid-controller " + " ".join(argv), flush=True)
    start = time.perf_counter()
    code = cli(list(argv))
    if code != 0:
        sys.exit(code)
    print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)


def mirrored_tracks(folder: Path) -> list[str]:
    """Write each training track with every arc turning the other way; return the files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in training_tracks():
        data = yaml.safe_load(
            find_data_file(f"description/tracks/{name}.yaml", key="track").read_text()
        )
        for segment in data["segments"]:
            if "arc" in segment:
                segment["arc"]["angle_deg"] = -segment["arc"]["angle_deg"]
        data["name"] = f"{name}_mirrored"
        path = folder / f"{name}_mirrored.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        files.append(str(path))
    return files


def main() -> None:
    """Collect, train, export and evaluate (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation")
    args = parser.parse_args()
    for folder in ("bags", "cfc", "tracks"):
        shutil.rmtree(WORK / folder, ignore_errors=True)
    resource, checkpoint = ROOT / "resource", WORK / "cfc" / "best.ckpt"
    tracks = [*training_tracks(), *mirrored_tracks(WORK / "tracks")]
    run("sim", "collect", *(f"--track={track}" for track in tracks),
        "--episodes", str(EPISODES), "--seconds", str(SECONDS), "--seed", str(COLLECT_SEED),
        "--out", str(WORK / "bags"), "--no-progress")  # fmt: skip
    run("train", str(ROOT / "config" / "lane_train.yaml"), "--no-progress")
    shutil.copyfile(checkpoint, resource / "default_policy.ckpt")
    run("export", str(resource / "default_policy.ckpt"), "--out",
        str(resource / "default_policy.npz"))  # fmt: skip
    if not args.no_evaluate:
        run("sim", "evaluate", "--model", str(resource / "default_policy.npz"),
            "--track", "kidney", "--laps", "3", "--max-seconds", "300", "--seeds", *EVAL_SEEDS,
            "--json", str(ROOT / "bench" / "results" / "default_policy_eval.json"),
            "--no-progress")  # fmt: skip


if __name__ == "__main__":
    main()
