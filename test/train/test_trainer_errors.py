"""Clear messages when the data does not fit the model, and BarrierNet end to end."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from synthetic_episodes import ACTIONS, SMALL_ENCODER, splits

from liquid_controller.errors import CheckpointError, ConfigError
from liquid_controller.models.checkpoint import load_checkpoint
from liquid_controller.models.policy import TorchPolicy
from liquid_controller.train.episodes import DatasetSplits
from liquid_controller.train.train_config import (
    ModelConfig,
    OptimisationConfig,
    load_train_config,
    parse_train_config,
)
from liquid_controller.train.trainer import train


def config(tmp_path, *, model=None, name="run", **optimisation):
    options = {"epochs": 1, "batch_size": 2, "window": 8, "patience": 0, **optimisation}
    return parse_train_config(
        {
            "data": "unused.yaml",
            "model": {"image_encoder": SMALL_ENCODER, **(model or {})},
            "optimisation": options,
            "output": {"run_dir": str(tmp_path / name)},
        }
    )


def with_episode(data: DatasetSplits, split: str, index: int, **changes) -> DatasetSplits:
    episodes = list(data.split(split))
    episodes[index] = dataclasses.replace(episodes[index], **changes)
    return dataclasses.replace(data, **{split: tuple(episodes)})


def test_wrong_observation_shape_names_the_episode_and_key(tmp_path) -> None:
    data = splits(train=2, validation=1, steps=12)
    bad = data.train[1]
    bad_imu = {"imu": np.zeros((len(bad), 5), np.float32)}
    data = with_episode(data, "train", 1, observations=bad_imu)
    with pytest.raises(
        ConfigError, match=r"train episode 'train#1': imu.*shape \(19, 5\).*\(19, 6\)"
    ):
        train(config(tmp_path), data, progress=False)


def test_non_finite_targets_are_refused_before_training(tmp_path) -> None:
    data = splits(train=2, validation=1, steps=12)
    action = data.validation[0].action.copy()
    action[3, 1] = np.nan
    data = with_episode(data, "validation", 0, action=action)
    with pytest.raises(
        ConfigError, match=r"validation episode 'validation#0': action.*1 non-finite"
    ):
        train(config(tmp_path), data, progress=False)
    assert not (tmp_path / "run").exists()


def test_empty_splits_say_which(tmp_path) -> None:
    data = splits(train=2, validation=1, steps=12)
    with pytest.raises(ConfigError, match="empty validation split"):
        train(config(tmp_path), dataclasses.replace(data, validation=()), progress=False)
    with pytest.raises(ConfigError, match="empty training split"):
        train(config(tmp_path), dataclasses.replace(data, train=()), progress=False)


def test_resume_on_other_data_names_the_difference(tmp_path) -> None:
    data = splits(train=2, validation=1, steps=12)
    run = config(tmp_path)
    train(run, data, progress=False)
    with pytest.raises(ConfigError, match="holds a run: pass --resume"):
        train(run, data, progress=False)
    renamed = dataclasses.replace(data, action_names=("left", "right"))
    with pytest.raises(ConfigError, match=r"action names.*\['left', 'right'\]"):
        train(run, renamed, resume=True, progress=False)
    fewer = dataclasses.replace(data, vector_fields={"imu": ("a", "b", "c", "d", "e", "f")})
    with pytest.raises(ConfigError, match="fields of 'imu'"):
        train(run, fewer, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="expected train_state.pt and last.ckpt"):
        train(config(tmp_path, name="never"), data, resume=True, progress=False)


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="'model.cell'"):
        parse_train_config({"data": "d.yaml", "model": {"cell": "gru"}, "output": {"run_dir": "r"}})
    with pytest.raises(ConfigError, match="'optimisation.window'"):
        parse_train_config(
            {"data": "d.yaml", "optimisation": {"window": 0}, "output": {"run_dir": "r"}}
        )
    with pytest.raises(ConfigError, match="'optimisation.lrate'"):
        parse_train_config(
            {"data": "d.yaml", "optimisation": {"lrate": 1}, "output": {"run_dir": "r"}}
        )
    with pytest.raises(ConfigError, match="'output.run_dir'"):
        parse_train_config({"data": "d.yaml"})
    with pytest.raises(ConfigError, match="'model.wiring'"):
        parse_train_config(
            {"data": "d.yaml", "model": {"cell": "lstm", "wiring": {}}, "output": {"run_dir": "r"}}
        )


def _safety_yaml(tmp_path, names=ACTIONS):
    safety = {
        "actuators": {"names": list(names), "effort_min": [-2.0, -2.0], "effort_max": [2.0, 2.0]},
        "barriers": [
            {
                "name": "wheel_speed",
                "type": "joint_velocity",
                "lower": [-15.0, -15.0],
                "upper": [15.0, 15.0],
                "inertia": [0.02, 0.02],
                "class_k": [10.0],
            }
        ],
    }
    path = tmp_path / "safety.yaml"
    path.write_text(yaml.safe_dump(safety), encoding="utf-8")
    return str(path)


def _with_joint_velocity(data: DatasetSplits) -> DatasetSplits:
    def add(episodes):
        return tuple(
            dataclasses.replace(
                e,
                observations={
                    **e.observations,
                    "joint_position": e.observations["imu"][:, :2],
                    "joint_velocity": e.observations["imu"][:, 3:5],
                },
            )
            for e in episodes
        )

    return dataclasses.replace(
        data,
        train=add(data.train),
        validation=add(data.validation),
        test=add(data.test),
        vector_fields={**data.vector_fields, "joint_position": ACTIONS, "joint_velocity": ACTIONS},
    )


def test_barriernet_end_to_end_starts_from_the_configured_gains(tmp_path) -> None:
    torch.set_num_threads(1)
    data = _with_joint_velocity(splits(train=3, validation=1, steps=16))
    model = {"barriernet": {"safety_config": _safety_yaml(tmp_path)}}
    result = train(config(tmp_path, model=model, epochs=1, lr=1e-12), data, progress=False)
    checkpoint = load_checkpoint(result.run_dir / "last.ckpt")
    assert checkpoint.spec.barrier_params == 1
    episode = data.validation[0]
    step = TorchPolicy(checkpoint.policy).step(
        {key: value[0] for key, value in episode.observations.items()}, 0.05
    )
    np.testing.assert_allclose(step.barrier_params, [10.0], rtol=1e-4)
    trained = train(
        config(tmp_path, model=model, name="trained", epochs=2, lr=1e-2), data, progress=False
    )
    assert trained.history[-1]["validation_loss"] < trained.history[0]["validation_loss"]


def test_barriernet_on_other_actuators_or_without_joint_states_is_refused(tmp_path) -> None:
    plain = splits(train=2, validation=1, steps=12)
    model = {"barriernet": {"safety_config": _safety_yaml(tmp_path)}}
    with pytest.raises(ConfigError, match=r"'data: joint_position'.*actuators \['left_wheel'"):
        train(config(tmp_path, model=model), plain, progress=False)
    data = _with_joint_velocity(plain)
    model = {"barriernet": {"safety_config": _safety_yaml(tmp_path, names=("a", "b"))}}
    with pytest.raises(ConfigError, match=r"action names.*the actuators \['a', 'b'\]"):
        train(config(tmp_path, model=model), data, progress=False)


def test_the_example_config_documents_the_defaults() -> None:
    example = Path(__file__).parents[2] / "config" / "train.yaml"
    loaded = load_train_config(example)
    assert loaded.model == ModelConfig()
    assert loaded.optimisation == OptimisationConfig()
    assert loaded.data == example.parent / "dataset.yaml"
