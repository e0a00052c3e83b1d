"""Open-loop evaluation: metrics against hand computations, the safety filter, the report,
and the whole workflow on bags (record -> dataset -> train -> evaluate -> export)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from bag_factory import dataset_config, write_synthetic_bag
from synthetic_episodes import ACTIONS, splits, true_command

from liquid_controller.cli import main
from liquid_controller.errors import ConfigError
from liquid_controller.runtime.spec import ActionSpec, PolicySpec, PolicyStep, VectorInput
from liquid_controller.train.evaluate import action_metrics, evaluate_policy, write_report


class OraclePolicy:
    """A Policy that knows the synthetic mapping (no network): metrics must be perfect."""

    def __init__(self, names=ACTIONS, fields=None) -> None:
        from synthetic_episodes import IMU_FIELDS

        fields = fields or IMU_FIELDS
        self.spec = PolicySpec(
            action=ActionSpec(tuple(names), ("N*m",) * len(names)),
            vectors=(VectorInput("imu", tuple(fields), ("",) * 6, (0.0,) * 6, (1.0,) * 6),),
        )
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def neuron_types(self) -> list[str]:
        return []

    def step(self, obs, dt_s) -> PolicyStep:
        action = true_command(np.asarray(obs["imu"])[None])[0].astype(np.float64)
        return PolicyStep(action=action, activity=np.zeros(0), barrier_params=None)


def test_metrics_match_their_definitions() -> None:
    recorded = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    predicted = recorded + np.array([[0.5, 0.0], [-0.5, 0.0], [0.5, 0.0], [-0.5, 1.0]])
    metrics = action_metrics(predicted, recorded, ("a", "b"))
    assert metrics["a"]["mae"] == pytest.approx(0.5)
    assert metrics["a"]["rmse"] == pytest.approx(0.5)
    assert metrics["a"]["r2"] == pytest.approx(1 - 4 * 0.25 / 5.0)  # SST = 9/4+1/4+1/4+9/4
    assert metrics["b"]["mae"] == pytest.approx(0.25)
    assert metrics["b"]["rmse"] == pytest.approx(0.5)
    assert np.isnan(metrics["b"]["r2"])  # a constant recorded action has no R2
    mean = np.repeat(recorded.mean(axis=0, keepdims=True), 4, axis=0)
    assert action_metrics(mean, recorded, ("a", "b"))["a"]["r2"] == pytest.approx(0.0)


def test_oracle_is_perfect_and_the_filter_clips_it(tmp_path) -> None:
    data = splits(train=1, validation=1, test=2, steps=30)
    safety = {
        "actuators": {
            "names": list(ACTIONS),
            "effort_min": [-0.5, -0.5],
            "effort_max": [0.5, 0.5],
        }
    }
    (tmp_path / "safety.yaml").write_text(yaml.safe_dump(safety), encoding="utf-8")
    policy = OraclePolicy()
    summary, predictions = evaluate_policy(
        policy, data, "test", safety_config=tmp_path / "safety.yaml"
    )
    assert policy.resets == 2 and summary["episodes"] == 2
    assert summary["ticks"] == sum(len(e) for e in data.test)
    for name in ACTIONS:
        assert summary["nominal"][name]["mae"] < 1e-6
        assert summary["nominal"][name]["r2"] == pytest.approx(1.0)
        assert summary["filtered"][name]["mae"] > 0.01
    filtered = np.concatenate([p.filtered for p in predictions])
    assert np.abs(filtered).max() <= 0.5 + 1e-9
    recorded = np.concatenate([p.recorded for p in predictions])
    clipped = np.clip(recorded, -0.5, 0.5)
    np.testing.assert_allclose(filtered, clipped, atol=1e-6)
    assert summary["filter_interventions"] == int((np.abs(recorded) > 0.5).any(axis=1).sum())
    written = write_report(tmp_path / "report", summary, predictions)
    assert json.loads(written[0].read_text())["filtered"]["left_wheel"]["mae"] > 0
    assert [p.suffix for p in written[1:]] == [".png", ".png"]


def test_a_model_that_does_not_read_the_dataset_is_refused() -> None:
    data = splits(train=1, validation=1, test=1, steps=10)
    with pytest.raises(ConfigError, match=r"action names.*\['a', 'b'\].*left_wheel"):
        evaluate_policy(OraclePolicy(names=("a", "b")), data)
    with pytest.raises(ConfigError, match="fields of 'imu'"):
        evaluate_policy(OraclePolicy(fields=tuple("abcdef")), data)
    with pytest.raises(ConfigError, match="'split'"):
        evaluate_policy(OraclePolicy(), data.__class__(**{**data.__dict__, "test": ()}))


def test_workflow_on_bags_train_evaluate_export(tmp_path, capsys) -> None:
    bags = [
        write_synthetic_bag(tmp_path / f"bag{i}", camera=None, joints=False, phase_s=0.7 * i).path
        for i in range(5)
    ]
    data = dataset_config(
        tmp_path / "dataset.yaml",
        bags,
        camera=None,
        joints=False,
        split={"validation": 0.2, "test": 0.2, "seed": 1},
    )
    train_yaml = tmp_path / "train.yaml"
    train_yaml.write_text(
        yaml.safe_dump(
            {
                "data": "dataset.yaml",
                "model": {"cell": "cfc"},
                "optimisation": {
                    "epochs": 25,
                    "batch_size": 3,
                    "window": 10,
                    "lr": 0.03,
                    "patience": 0,
                },
                "output": {"run_dir": "run"},
            }
        ),
        encoding="utf-8",
    )
    assert main(["train", str(train_yaml), "--no-progress"]) == 0
    metrics = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    best = min(float(row.split(",")[2]) for row in metrics[1:])
    assert best < 0.1  # stated target: scaled validation MSE below 0.1 (untrained ~1)
    model = tmp_path / "run" / "best.ckpt"
    assert main(["evaluate", "--model", str(model), str(data), "--out", str(tmp_path / "ev")]) == 0
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["episodes"] == 1
    assert all(summary["nominal"][a]["r2"] > 0.8 for a in ACTIONS)
    artifact = tmp_path / "policy.npz"
    assert main(["export", str(model), "--out", str(artifact)]) == 0
    assert (
        main(["evaluate", "--model", str(artifact), str(data), "--out", str(tmp_path / "ev2")]) == 0
    )
    again = json.loads((tmp_path / "ev2" / "summary.json").read_text())
    for name in ACTIONS:  # the torch-free artifact scores what the checkpoint scores
        assert again["nominal"][name]["mae"] == pytest.approx(
            summary["nominal"][name]["mae"], abs=1e-5
        )
    assert "best validation loss" in capsys.readouterr().out
