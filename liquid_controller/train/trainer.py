"""The training loop: windows -> loss -> AdamW, validation every epoch, checkpoints, resume.

A run directory holds (rank 0 writes them):

- ``config.yaml``: the training config as given;
- ``last.ckpt`` / ``best.ckpt``: policy checkpoints
  (:func:`~liquid_controller.models.checkpoint.save_checkpoint`; what ``export``,
  the demo and the nodes load) after the latest epoch / the best validation loss;
- ``train_state.pt``: weights, optimiser state, epoch, best loss and history, for
  ``--resume`` (read with ``torch.load(weights_only=True)``: no code runs);
- ``metrics.csv``: one row per epoch; ``loss.png``: the loss curves (when the run ends).

The loss is the mean squared error of the (BarrierNet-filtered, when configured)
command against the recorded one, each action scaled by its training-split
standard deviation so that actions in different units weigh alike. Lane order is
drawn from ``(optimisation.seed, epoch)`` and weights from ``optimisation.seed``,
so a CPU run is repeatable and a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import copy
import csv
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from liquid_controller.errors import CheckpointError, ConfigError
from liquid_controller.models.barriernet import BarrierNetLayer, initialise_gains_head
from liquid_controller.models.checkpoint import load_checkpoint, save_checkpoint
from liquid_controller.models.policy import LiquidPolicy, default_policy_config
from liquid_controller.runtime.spec import MIN_BARRIER_GAIN, PolicySpec
from liquid_controller.train import distributed
from liquid_controller.train.data_fit import (
    action_scale,
    check_episodes_fit,
    check_spec_fits,
    spec_from_splits,
)
from liquid_controller.train.episodes import DatasetSplits, Episode
from liquid_controller.train.train_config import ModelConfig, TrainConfig
from liquid_controller.train.window_model import WindowModel
from liquid_controller.train.windows import STATE_KEYS, Window, iter_windows, plan_lanes

__all__ = ["TrainResult", "load_training_data", "policy_config_for", "train"]

METRICS_FIELDS = ("epoch", "train_loss", "validation_loss", "validation_mae", "seconds", "best")


@dataclass(frozen=True)
class TrainResult:
    """What a finished run reports.

    Attributes:
        run_dir: the run directory.
        epochs_run: epochs completed in total (resumed ones included).
        best_epoch: epoch (0-based) of ``best.ckpt``.
        best_validation_loss: its validation loss.
        history: one metrics row per epoch.
        stopped_early: whether early stopping ended the run.
        policy: the network after the last epoch (this process's replica).
    """

    run_dir: Path
    epochs_run: int
    best_epoch: int
    best_validation_loss: float
    history: list[dict[str, float]]
    stopped_early: bool
    policy: LiquidPolicy


def load_training_data(config: TrainConfig, *, progress: bool = True) -> DatasetSplits:
    """Load the dataset the config names (a dataset YAML file or an inline mapping)."""
    from liquid_controller.train.dataset import load_dataset
    from liquid_controller.train.dataset_config import parse_dataset_config

    if isinstance(config.data, Mapping):
        dataset = parse_dataset_config(config.data, base_dir=config.base_dir)
        return load_dataset(dataset, progress=progress)
    return load_dataset(config.data, progress=progress)


def policy_config_for(model: ModelConfig) -> dict[str, Any]:
    """Return the :class:`LiquidPolicy` architecture config the model section describes."""
    config = default_policy_config(cell=model.cell, seed=model.seed)
    core = config["core"]
    if model.cell in ("cfc", "ltc"):
        core["wiring"] = (
            copy.deepcopy(dict(model.wiring))
            if model.wiring
            else {
                "type": "AutoNCP",
                "args": {
                    "units": model.units,
                    "output_size": model.motor_neurons,
                    "sparsity_level": model.sparsity_level,
                    "seed": model.seed,
                },
            }
        )
    else:
        core["units"] = model.units
        if model.cell == "feedforward":
            core["layers"] = model.layers
    config["image_encoder"].update(dict(model.image_encoder or {}))
    return config


def _barrier_layer(model: ModelConfig, splits: DatasetSplits) -> BarrierNetLayer | None:
    """The BarrierNet layer of ``model.barriernet``, checked to find its joint state in the data."""
    if model.safety_config is None:
        return None
    from liquid_controller.safety.config import load_config

    layer = BarrierNetLayer(load_config(model.safety_config))
    names = list(layer.builder.names)
    if list(splits.action_names) != names:
        raise ConfigError(
            "data: action names",
            list(splits.action_names),
            f"the actuators {names} of model.barriernet.safety_config (same order)",
        )
    if layer.builder.needs_joint_state:
        for key in STATE_KEYS:
            fields = splits.vector_fields.get(key)
            if fields is None or list(fields) != names:
                raise ConfigError(
                    f"data: {key}",
                    None if fields is None else list(fields),
                    f"the joint states of the actuators {names} "
                    "(the barriers of model.barriernet.safety_config read them)",
                )
    return layer


def _build_policy(
    config: TrainConfig, spec: PolicySpec, layer: BarrierNetLayer | None
) -> LiquidPolicy:
    torch.manual_seed(config.optimisation.seed)
    policy = LiquidPolicy(policy_config_for(config.model), spec)
    if layer is not None:
        layer.check_policy_spec(spec)
        assert policy.barrier_head is not None
        initialise_gains_head(policy.barrier_head, layer.default_gains, floor=MIN_BARRIER_GAIN)
    return policy


class _Loop:
    """Runs windows through the model; holds what every epoch shares."""

    def __init__(
        self,
        model: nn.Module,
        window_model: WindowModel,
        scale: torch.Tensor,
        place: distributed.Distributed,
        window: int,
    ) -> None:
        self.model = model
        self.window_model = window_model
        self.scale = scale
        self.place = place
        self.window = window
        self.barrier = window_model.barrier_layer is not None

    def tensors(self, batch: Window) -> dict[str, Any]:
        device = self.place.device

        def put(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).to(device)

        return {
            "image": None if batch.image is None else put(batch.image),
            "vector": put(batch.vector),
            "dt": put(batch.dt),
            "reset": put(batch.reset),
            "joint_state": {k: put(v) for k, v in batch.state.items()} or None,
            "previous_action": put(batch.previous_action),
        }

    def errors(self, out: Any, batch: Window) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(sum of squared scaled errors, sum of absolute raw errors per action)``."""
        device = self.place.device
        target = torch.from_numpy(batch.action).to(device)
        mask = torch.from_numpy(batch.mask).to(device).unsqueeze(-1)
        predicted = out.filtered if self.barrier else out.action
        error = (predicted - target) * mask
        return ((error / self.scale) ** 2).sum(), error.abs().sum(dim=(0, 1))

    def evaluate(
        self, episodes: tuple[Episode, ...], spec: PolicySpec, lanes: int
    ) -> tuple[float, list[float]]:
        plan = plan_lanes([len(e) for e in episodes], lanes, self.window, rng=None)
        policy = self.window_model.policy
        h = policy.initial_state(plan.episode.shape[0]).to(self.place.device)
        total = 0.0
        absolute = torch.zeros(spec.action.size, dtype=torch.float64)
        self.window_model.eval()
        with torch.no_grad():
            for batch in iter_windows(plan, episodes, spec):
                out = self.window_model(h=h, **self.tensors(batch))
                squared, abs_sum = self.errors(out, batch)
                total += float(squared)
                absolute += abs_sum.double().cpu()
                h = out.state
        steps = max(plan.num_steps, 1)
        return total / (steps * spec.action.size), (absolute / steps).tolist()


def _save_state(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(state, temporary)
    temporary.replace(path)


def _write_metrics(run_dir: Path, history: list[dict[str, float]]) -> None:
    with open(run_dir / "metrics.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRICS_FIELDS)
        writer.writeheader()
        for row in history:
            writer.writerow({k: row[k] for k in METRICS_FIELDS})


def _plot_losses(run_dir: Path, history: list[dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] + 1 for row in history]
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(epochs, [row["train_loss"] for row in history], "o-", label="train")
    axis.plot(epochs, [row["validation_loss"] for row in history], "s-", label="validation")
    axis.set_xlabel("epoch")
    axis.set_ylabel("scaled MSE")
    axis.set_yscale("log")
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.savefig(run_dir / "loss.png", dpi=100)
    plt.close(figure)


def _resume_state(config: TrainConfig, splits: DatasetSplits) -> tuple[PolicySpec, dict[str, Any]]:
    run_dir = config.run_dir
    state_path, checkpoint = run_dir / "train_state.pt", run_dir / "last.ckpt"
    if not state_path.is_file() or not checkpoint.is_file():
        raise CheckpointError(
            f"cannot resume from '{run_dir}': expected train_state.pt and last.ckpt there "
            "(written after each epoch of a run)"
        )
    spec = load_checkpoint(checkpoint).spec
    check_spec_fits(spec, splits, f"checkpoint '{checkpoint}'")
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several unrelated types for bad files
        raise CheckpointError(f"cannot read '{state_path}': {err}") from None
    return spec, state


def train(
    config: TrainConfig,
    splits: DatasetSplits,
    *,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train the configured policy on ``splits`` and write the run directory.

    Args:
        config: the validated training config.
        splits: the dataset.
        resume: continue the run in ``config.run_dir`` from its last completed epoch.
        progress: show tqdm progress bars (rank 0 only).

    Raises:
        ConfigError: the data does not fit the model (the message says what differs),
            a split is empty, or the run directory already holds a run (without ``resume``).
        CheckpointError: ``resume`` without a readable run in ``config.run_dir``.
    """
    from tqdm import tqdm

    opt = config.optimisation
    if not splits.validation:
        raise ConfigError(
            "data.split", "an empty validation split", "validation episodes (see split fractions)"
        )
    check_episodes_fit(
        splits.validation,
        splits.action_names,
        splits.vector_fields,
        splits.image_shape,
        "validation",
    )
    run_dir = config.run_dir
    if not resume and (run_dir / "train_state.pt").exists():
        raise ConfigError(
            "output.run_dir", str(run_dir), "a new directory (it holds a run: pass --resume)"
        )
    layer = _barrier_layer(config.model, splits)
    barrier_params = layer.num_gains if layer is not None else 0
    saved: dict[str, Any] | None = None
    if resume:
        spec, saved = _resume_state(config, splits)
        check_episodes_fit(
            splits.train, splits.action_names, splits.vector_fields, splits.image_shape, "train"
        )
    else:
        spec = spec_from_splits(
            splits, barrier_params=barrier_params, action_units=config.model.action_units
        )
    place = distributed.setup(opt.device)
    try:
        policy = _build_policy(config, spec, layer)
        scale_np = action_scale(splits.train)
        if saved is not None:
            policy.load_state_dict(saved["model"])
        window_model = WindowModel(policy, layer).to(place.device)
        model: nn.Module = window_model
        if place.active:
            model = nn.parallel.DistributedDataParallel(
                window_model,
                device_ids=[place.device.index] if place.device.type == "cuda" else None,
            )
        optimiser = torch.optim.AdamW(policy.parameters(), lr=opt.lr, weight_decay=opt.weight_decay)
        history: list[dict[str, float]] = []
        best, best_epoch, bad_epochs, start = math.inf, -1, 0, 0
        if saved is not None:
            optimiser.load_state_dict(saved["optimiser"])
            history = [dict(row) for row in saved["history"]]
            best, best_epoch = float(saved["best"]), int(saved["best_epoch"])
            bad_epochs, start = int(saved["bad_epochs"]), int(saved["epoch"]) + 1
        loop = _Loop(
            model,
            window_model,
            torch.tensor(scale_np, dtype=torch.float32, device=place.device),
            place,
            opt.window,
        )
        lengths = [len(e) for e in splits.train]
        if place.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(
                yaml.safe_dump(dict(config.raw), sort_keys=False), encoding="utf-8"
            )
        stopped = False
        constrain = getattr(policy.core.rnn_cell, "apply_weight_constraints", None)
        for epoch in range(start, opt.epochs):
            if opt.patience and bad_epochs >= opt.patience:  # a resumed run that had stopped
                stopped = True
                break
            started = time.perf_counter()
            plan = plan_lanes(
                lengths, opt.batch_size, opt.window, np.random.default_rng([opt.seed, epoch])
            )
            lanes = plan.episode.shape[0]
            if lanes < place.world_size:
                raise ConfigError(
                    "optimisation.batch_size",
                    opt.batch_size,
                    f"at least one lane per process ({place.world_size}) and as many "
                    f"training episodes (there are {len(lengths)})",
                )
            mine = list(range(place.rank, lanes, place.world_size))
            denominator = plan.num_steps * spec.action.size / place.world_size
            h = policy.initial_state(len(mine)).to(place.device)
            window_model.train()
            epoch_loss = 0.0
            bar = tqdm(
                iter_windows(plan, splits.train, spec, mine),
                total=plan.num_windows,
                desc=f"epoch {epoch + 1}/{opt.epochs}",
                disable=not (progress and place.is_main),
                leave=False,
            )
            for batch in bar:
                out = model(h=h, **loop.tensors(batch))
                squared, _ = loop.errors(out, batch)
                loss = squared / denominator
                optimiser.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                if opt.grad_clip > 0:
                    nn.utils.clip_grad_norm_(policy.parameters(), opt.grad_clip)
                optimiser.step()
                if constrain is not None:
                    constrain()
                h = out.state.detach()
                window_loss = float(squared.detach())
                epoch_loss += window_loss
                steps = max(float(batch.mask.sum()), 1.0) * spec.action.size
                bar.set_postfix(loss=f"{window_loss / steps:.4g}")
            train_loss = distributed.all_reduce_sum(place, [epoch_loss])[0]
            train_loss /= plan.num_steps * spec.action.size
            validation_loss, mae = loop.evaluate(splits.validation, spec, opt.batch_size)
            improved = validation_loss < best
            if improved:
                best, best_epoch, bad_epochs = validation_loss, epoch, 0
            else:
                bad_epochs += 1
            row = {
                "epoch": epoch,
                "train_loss": train_loss,
                "validation_loss": validation_loss,
                "validation_mae": float(np.mean(mae)),
                "seconds": time.perf_counter() - started,
                "best": float(improved),
            }
            history.append(row)
            if place.is_main:
                metadata = {
                    "training": {
                        "epoch": epoch,
                        "validation_loss": validation_loss,
                        "validation_mae": dict(zip(spec.action.names, mae, strict=True)),
                        "episodes": {
                            split: len(splits.split(split))
                            for split in ("train", "validation", "test")
                        },
                        "config": dict(config.raw),
                    }
                }
                save_checkpoint(run_dir / "last.ckpt", policy, metadata=metadata)
                if improved:
                    save_checkpoint(run_dir / "best.ckpt", policy, metadata=metadata)
                _save_state(
                    run_dir / "train_state.pt",
                    {
                        "model": policy.state_dict(),
                        "optimiser": optimiser.state_dict(),
                        "epoch": epoch,
                        "best": best,
                        "best_epoch": best_epoch,
                        "bad_epochs": bad_epochs,
                        "history": history,
                    },
                )
                _write_metrics(run_dir, history)
                if progress:
                    tqdm.write(
                        f"epoch {epoch + 1}/{opt.epochs}: train {train_loss:.4g}, "
                        f"validation {validation_loss:.4g} (MAE {np.mean(mae):.4g})"
                        + (" *best*" if improved else "")
                    )
            if opt.patience and bad_epochs >= opt.patience and epoch + 1 < opt.epochs:
                stopped = True
                break
        if place.is_main and history:
            _plot_losses(run_dir, history)
        return TrainResult(run_dir, len(history), best_epoch, best, history, stopped, policy)
    finally:
        distributed.teardown(place)
