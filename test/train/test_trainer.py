"""The training loop on in-memory episodes of a known mapping: accuracy, files, resume, seeds."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
import torch
from synthetic_episodes import SMALL_ENCODER, splits

from liquid_controller.models.checkpoint import load_checkpoint
from liquid_controller.models.policy import TorchPolicy
from liquid_controller.train.train_config import parse_train_config
from liquid_controller.train.trainer import train


def config(tmp_path, name: str = "run", *, model=None, **optimisation):
    options = {"epochs": 2, "batch_size": 4, "window": 16, "lr": 1e-2, "patience": 0}
    options.update(optimisation)
    return parse_train_config(
        {
            "data": "unused.yaml",
            "model": {"image_encoder": SMALL_ENCODER, **(model or {})},
            "optimisation": options,
            "output": {"run_dir": str(tmp_path / name)},
        }
    )


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_cfc_learns_the_known_mapping_and_writes_a_loadable_run(tmp_path) -> None:
    data = splits(camera=True)
    result = train(config(tmp_path, epochs=12), data, progress=False)
    run = result.run_dir
    # Untrained, the scaled validation MSE is ~0.9; the stated target is 0.2.
    assert result.history[0]["validation_loss"] > 0.5
    assert result.best_validation_loss < 0.2
    for name in ("best.ckpt", "last.ckpt", "metrics.csv", "loss.png", "config.yaml"):
        assert (run / name).is_file(), name
    with open(run / "metrics.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and float(rows[-1]["epoch"]) == 11
    best = load_checkpoint(run / "best.ckpt")
    assert best.metadata["training"]["epoch"] == result.best_epoch
    # Statistics from the training split only, stored in the spec.
    train_imu = np.concatenate([e.observations["imu"] for e in data.train]).astype(np.float64)
    np.testing.assert_allclose(best.spec.vectors[0].mean, train_imu.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(best.spec.vectors[0].std, train_imu.std(axis=0), rtol=1e-6)
    assert best.spec.action.names == data.action_names
    # The checkpoint, stepped tick by tick as on the robot, reproduces the training metric.
    policy = TorchPolicy(best.policy)
    errors = []
    for episode in data.validation:
        policy.reset()
        for k in range(len(episode)):
            obs = {key: value[k] for key, value in episode.observations.items()}
            errors.append(policy.step(obs, float(episode.dt_s[k])).action - episode.action[k])
    mae = np.abs(np.array(errors)).mean()
    assert mae == pytest.approx(result.history[result.best_epoch]["validation_mae"], rel=1e-3)


def test_resume_equals_an_uninterrupted_run(tmp_path) -> None:
    data = splits(train=4, validation=1, test=0, steps=30)
    whole = train(config(tmp_path, "whole", epochs=2), data, progress=False)
    first = config(tmp_path, "split", epochs=1)
    train(first, data, progress=False)
    again = dataclasses.replace(
        first, optimisation=dataclasses.replace(first.optimisation, epochs=2)
    )
    resumed = train(again, data, resume=True, progress=False)
    assert resumed.epochs_run == 2
    a = torch.load(whole.run_dir / "train_state.pt", weights_only=True)
    b = torch.load(resumed.run_dir / "train_state.pt", weights_only=True)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert a["history"][1]["validation_loss"] == b["history"][1]["validation_loss"]


@pytest.mark.parametrize("cell", ["ltc", "lstm", "feedforward"])
def test_every_core_trains_and_improves(tmp_path, cell) -> None:
    result = train(
        config(tmp_path, model={"cell": cell}, epochs=3), splits(steps=30), progress=False
    )
    losses = [row["validation_loss"] for row in result.history]
    assert losses[-1] < losses[0]
    assert load_checkpoint(result.run_dir / "last.ckpt").config["core"]["cell"] == cell


def test_early_stopping_stops_when_validation_stalls(tmp_path) -> None:
    # A learning rate this small cannot improve the loss measurably after the first epoch
    # everywhere; patience 1 ends the run at the first epoch that is not better.
    result = train(
        config(tmp_path, epochs=20, lr=1e-9, patience=1), splits(steps=20), progress=False
    )
    assert result.stopped_early
    assert result.epochs_run < 20
