"""A 2-process torchrun (DDP, gloo on CPU) training run on a tiny in-memory dataset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

WORKER = """
import os, sys
sys.path.insert(0, {here!r})
import torch
from synthetic_episodes import splits
from liquid_controller.train.train_config import parse_train_config
from liquid_controller.train.trainer import train

config = parse_train_config({{
    "data": "unused.yaml",
    "optimisation": {{"epochs": 2, "batch_size": 4, "window": 8, "lr": 1e-2, "patience": 0}},
    "output": {{"run_dir": {run!r}}},
}})
result = train(config, splits(train=4, validation=1, test=0, steps=24), progress=False)
rank = os.environ["RANK"]
torch.save(result.policy.state_dict(), {run!r} + f"/rank{{rank}}.pt")
print("history", [r["validation_loss"] for r in result.history])
"""


def test_two_process_torchrun_trains_with_identical_replicas(tmp_path) -> None:
    run = tmp_path / "run"
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(here=str(Path(__file__).parent), run=str(run)))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", "2", str(script)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    weights = [torch.load(run / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for name, tensor in weights[0].items():  # DDP kept the replicas identical
        assert torch.equal(tensor, weights[1][name]), name
    for name in ("best.ckpt", "last.ckpt", "metrics.csv", "loss.png"):
        assert (run / name).is_file(), name
    histories = [line for line in done.stdout.splitlines() if line.startswith("history")]
    assert len(histories) == 2 and histories[0] == histories[1]
    losses = [float(v) for v in histories[0].split("[")[1].rstrip("]").split(",")]
    assert losses[1] < losses[0]
