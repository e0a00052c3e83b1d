"""sim compare on a tiny budget: four cells trained on the same two short bags, each driven
briefly in two conditions with and without the filter, and the report written."""

import math

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("mujoco")

from liquid_controller.errors import ConfigError  # noqa: E402
from liquid_controller.sim.collect import collect  # noqa: E402
from liquid_controller.sim.compare import CompareBudget, compare  # noqa: E402
from liquid_controller.sim.compare_report import aggregate, write_report  # noqa: E402
from liquid_controller.sim.lane_env import LaneKeepingEnv  # noqa: E402

BUDGET = CompareBudget(seeds=1, epochs=1, episodes=1, tracks=("oval",), max_seconds=0.3,
                       camera_noise=(0.1,), lighting=("dim",))  # fmt: skip


@pytest.fixture(scope="module")
def train_config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    collect(folder / "bags", 2, seconds=1.5, seed=3, workers=1, progress=False)
    config = {
        "data": {
            "bags": [str(folder / "bags")],
            "topics": {
                "camera": "/camera/image_raw",
                "imu": "/imu/data",
                "joint_states": None,
                "target": "/expert/commands",
            },  # fmt: skip
            "actions": ["left_wheel", "right_wheel"],
            "rate_hz": 50.0,
            "clock": "header",
            "image": {"height": 12, "width": 36, "crop": None},
            "split": {"validation": 0.5, "test": 0.0, "seed": 0},
        },
        "model": {
            "cell": "cfc",
            "units": 8,
            "motor_neurons": 2,
            "image_encoder": {"conv_layers": [[4, 3, 2]], "features": 8},
        },  # fmt: skip
        "optimisation": {"epochs": 5, "batch_size": 2, "window": 8, "device": "cpu"},
        "output": {"run_dir": str(folder / "unused")},
    }
    path = folder / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_compare_trains_every_cell_alike_and_reports_the_closed_loop(train_config, tmp_path):
    document = compare(train_config, tmp_path / "work", BUDGET, workers=1, progress=False)
    models = document["models"]
    assert [m["cell"] for m in models] == ["cfc", "ltc", "lstm", "feedforward"]
    for m in models:
        assert 0 < m["recurrent_parameters"] < m["parameters"]
        assert m["epochs_run"] == 1  # the budget's epochs, not the config's 5
        assert m["inference_us"] > 0 and math.isfinite(m["inference_us"])
    # The same encoder for all: outside the recurrent part only the action head differs, fed
    # by the 2 motor neurons of the liquid cores and by all 8 units of the baselines.
    cfc, ltc, lstm, feedforward = (m["parameters"] - m["recurrent_parameters"] for m in models)
    assert cfc == ltc
    assert lstm == feedforward == cfc + 2 * (8 - 2)
    rows = document["closed_loop"]
    assert len(rows) == 4 * 2 * 2  # cells x (noise 0.1, dim light) x filter on/off
    assert {r["condition"] for r in rows} == {"noise 0.1", "dim light"}
    assert all(r["limit_violations"] == 0 for r in rows if r["safety"])
    assert all(0 < r["ticks"] <= 15 for r in rows)  # 0.3 s at 50 Hz at most

    report = tmp_path / "results" / "closed_loop.md"
    report.parent.mkdir()
    written = write_report(document, report, reduced="a test budget")
    assert all(path.stat().st_size > 0 for path in written)
    text = report.read_text()
    assert "**Reduced run** (a test budget)" in text
    for name in ("CfC-NCP", "LTC-NCP", "LSTM", "feed-forward", "dim light", "noise 0.1"):
        assert name in text
    assert len(aggregate(rows)) == len(rows)  # one seed: nothing to combine


def test_unseen_lighting_replaces_the_worlds_draw():
    env = LaneKeepingEnv("oval", render_camera=False, world={"light_intensity": 0.15})
    try:
        env.reset(seed=4)
        assert env.sim.variation.light_intensity == 0.15
    finally:
        env.close()
    with pytest.raises(ConfigError, match="world.sun"):
        LaneKeepingEnv("oval", world={"sun": 1.0})


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"cells": ("gru",)}, "--cell"),
        ({"lighting": ("dark",)}, "--lighting"),
        ({"camera_noise": (2.0,)}, "--camera-noise"),
        ({"tracks": ()}, "budget"),
    ],  # fmt: skip
)
def test_bad_budgets_are_refused_naming_the_option(changes, named):
    import dataclasses

    with pytest.raises(ConfigError, match=named):
        dataclasses.replace(BUDGET, **changes)


def test_cli_refuses_an_unknown_track_before_training(tmp_path, capsys):
    from liquid_controller.cli import main

    argv = ["sim", "compare", "--track", "moon", "--work", str(tmp_path / "work"),
            "--report", str(tmp_path / "closed_loop.md")]  # fmt: skip
    assert main(argv) == 1
    assert "'moon'" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
