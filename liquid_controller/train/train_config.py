"""The training config: data, model, optimisation and output sections.

A YAML mapping in, a validated frozen :class:`TrainConfig` out; every error is a
:class:`~liquid_controller.errors.ConfigError` naming the dotted key.
``config/train.yaml`` is the commented example of every key. Relative paths
(``data`` as a file, ``model.barriernet.safety_config``, ``output.run_dir``) are
taken relative to the YAML file's folder.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from liquid_controller.errors import ConfigError

__all__ = [
    "CELLS",
    "ModelConfig",
    "OptimisationConfig",
    "TrainConfig",
    "load_train_config",
    "parse_train_config",
]

CELLS = ("cfc", "ltc", "lstm", "feedforward")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ModelConfig:
    """The network to train (see :func:`~liquid_controller.models.policy.default_policy_config`).

    Attributes:
        cell: ``"cfc"``, ``"ltc"`` (liquid, on a wiring), ``"lstm"`` or ``"feedforward"``.
        units: neurons of the AutoNCP wiring, or the baselines' width.
        motor_neurons: AutoNCP output (motor) neurons; liquid cells only.
        sparsity_level: AutoNCP sparsity in ``[0.1, 0.9]``.
        layers: hidden layers of the feed-forward baseline.
        seed: wiring seed and weight-initialisation seed.
        wiring: a full wiring config (``type``, ``args``) replacing the AutoNCP one, or ``None``.
        image_encoder: keys overriding the default camera encoder's.
        safety_config: the robot's safety YAML for BarrierNet end to end, or ``None``.
        action_units: unit of each action, stored in the spec (default ``""``: unknown).
    """

    cell: str = "cfc"
    units: int = 19
    motor_neurons: int = 2
    sparsity_level: float = 0.5
    layers: int = 2
    seed: int = 22222
    wiring: Mapping[str, Any] | None = None
    image_encoder: Mapping[str, Any] | None = None
    safety_config: Path | None = None
    action_units: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OptimisationConfig:
    """How to train.

    Attributes:
        lr: Adam learning rate.
        weight_decay: AdamW weight decay.
        batch_size: parallel sequence lanes per step (over all processes).
        window: steps per window of truncated backpropagation through time.
        epochs: maximum number of passes over the training split.
        grad_clip: maximum gradient norm (``0``: no clipping).
        patience: epochs without a better validation loss before stopping (``0``: never).
        seed: seed of the lane shuffling (and weights, with ``model.seed``).
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 16
    window: int = 32
    epochs: int = 30
    grad_clip: float = 1.0
    patience: int = 5
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run.

    Attributes:
        data: a dataset config file, or an inline dataset config mapping.
        base_dir: folder that relative paths of an inline dataset config start from.
        model: the network.
        optimisation: the optimiser and loop.
        run_dir: where checkpoints, metrics and plots go.
        raw: the YAML mapping as given (copied into the run directory).
    """

    data: Path | Mapping[str, Any]
    base_dir: Path
    model: ModelConfig
    optimisation: OptimisationConfig
    run_dir: Path
    raw: Mapping[str, Any]


def _mapping(key: str, value: Any, known: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, "a mapping")
    for name in value:
        if name not in known:
            raise ConfigError(f"{key}.{name}", value[name], f"one of the keys {list(known)}")
    return value


def _integer(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(key, value, f"an integer >= {minimum}")
    return value


def _number(key: str, value: Any, minimum: float, *, inclusive: bool = True) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and (value >= minimum if inclusive else value > minimum)
    )
    if not ok:
        relation = ">=" if inclusive else ">"
        raise ConfigError(key, value, f"a finite number {relation} {minimum}")
    return float(value)


def _path(key: str, value: Any, base: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, "a path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _parse_model(data: Any, base: Path) -> ModelConfig:
    fields = ModelConfig.__dataclass_fields__
    section = _mapping("model", data, [*fields, "barriernet"])
    default = ModelConfig()
    cell = section.get("cell", default.cell)
    if cell not in CELLS:
        raise ConfigError("model.cell", cell, f"one of {list(CELLS)}")
    values: dict[str, Any] = {"cell": cell}
    for key in ("units", "motor_neurons", "layers"):
        values[key] = _integer(f"model.{key}", section.get(key, getattr(default, key)), 1)
    values["seed"] = _integer("model.seed", section.get("seed", default.seed), 0)
    sparsity = _number("model.sparsity_level", section.get("sparsity_level", 0.5), 0.1)
    if sparsity > 0.9:
        raise ConfigError("model.sparsity_level", sparsity, "a number in [0.1, 0.9]")
    values["sparsity_level"] = sparsity
    if cell in ("cfc", "ltc") and values["motor_neurons"] >= values["units"] - 2:
        raise ConfigError(
            "model.motor_neurons", values["motor_neurons"], f"< units - 2 = {values['units'] - 2}"
        )
    for key in ("wiring", "image_encoder"):
        if section.get(key) is not None:
            values[key] = copy.deepcopy(
                dict(_mapping(f"model.{key}", section[key], list(section[key])))
            )
    if "wiring" in values and cell not in ("cfc", "ltc"):
        raise ConfigError("model.wiring", values["wiring"], f"absent for the {cell} baseline")
    barrier = section.get("barriernet")
    if barrier is not None:
        barrier = _mapping("model.barriernet", barrier, ["safety_config"])
        if "safety_config" not in barrier:
            raise ConfigError("model.barriernet.safety_config", None, "the robot's safety YAML")
        values["safety_config"] = _path(
            "model.barriernet.safety_config", barrier["safety_config"], base
        )
    units = section.get("action_units")
    if units is not None:
        if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
            raise ConfigError("model.action_units", units, "a list of unit strings")
        values["action_units"] = tuple(units)
    return ModelConfig(**values)


def _parse_optimisation(data: Any) -> OptimisationConfig:
    default = OptimisationConfig()
    section = _mapping("optimisation", data, list(OptimisationConfig.__dataclass_fields__))

    def get(key: str) -> Any:
        return section.get(key, getattr(default, key))

    device = get("device")
    if device not in DEVICES:
        raise ConfigError("optimisation.device", device, f"one of {list(DEVICES)}")
    return OptimisationConfig(
        lr=_number("optimisation.lr", get("lr"), 0.0, inclusive=False),
        weight_decay=_number("optimisation.weight_decay", get("weight_decay"), 0.0),
        batch_size=_integer("optimisation.batch_size", get("batch_size"), 1),
        window=_integer("optimisation.window", get("window"), 1),
        epochs=_integer("optimisation.epochs", get("epochs"), 1),
        grad_clip=_number("optimisation.grad_clip", get("grad_clip"), 0.0),
        patience=_integer("optimisation.patience", get("patience"), 0),
        seed=_integer("optimisation.seed", get("seed"), 0),
        device=device,
    )


def parse_train_config(data: Any, *, base_dir: str | Path = ".") -> TrainConfig:
    """Validate a training config mapping.

    Args:
        data: the mapping (``yaml.safe_load`` of a training YAML file).
        base_dir: folder that relative paths start from.

    Raises:
        ConfigError: naming the first key that is missing, unknown or invalid.
    """
    base = Path(base_dir)
    top = _mapping("", data, ["data", "model", "optimisation", "output"])
    if "data" not in top:
        raise ConfigError("data", None, "a dataset config file or an inline dataset config")
    source = top["data"]
    dataset: Path | Mapping[str, Any]
    if isinstance(source, Mapping):
        dataset = copy.deepcopy(dict(source))
    else:
        dataset = _path("data", source, base)
    output = _mapping("output", top.get("output", {}), ["run_dir"])
    if "run_dir" not in output:
        raise ConfigError("output.run_dir", None, "the run directory to write")
    return TrainConfig(
        data=dataset,
        base_dir=base,
        model=_parse_model(top.get("model", {}), base),
        optimisation=_parse_optimisation(top.get("optimisation", {})),
        run_dir=_path("output.run_dir", output["run_dir"], base),
        raw=copy.deepcopy(dict(top)),
    )


def load_train_config(path: str | Path) -> TrainConfig:
    """Read and validate a training YAML file (relative paths start at its folder).

    Raises:
        ConfigError: an unreadable file, malformed YAML, or an invalid key.
    """
    config_path = Path(path)
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            "<file>", str(config_path), f"a readable UTF-8 YAML file ({err})"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError("<file>", str(config_path), f"valid YAML ({err})") from None
    return parse_train_config(data, base_dir=config_path.parent)
