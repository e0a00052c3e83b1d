"""``liquid-controller dataset`` and the example config/dataset.yaml."""

from __future__ import annotations

import json
from pathlib import Path

from bag_factory import dataset_config, write_synthetic_bag

from liquid_controller.cli import main
from liquid_controller.train.dataset_config import (
    CurationConfig,
    ImageConfig,
    SplitConfig,
    load_dataset_config,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "dataset.yaml"


def test_example_config_is_valid_and_states_the_defaults():
    config = load_dataset_config(EXAMPLE)
    assert config.image == ImageConfig()  # 66x200, like default_policy_spec
    assert config.split == SplitConfig()
    assert config.curation == CurationConfig()
    assert config.topics.target == "/effort_controller/commands"
    assert config.rate_hz == 20.0 and config.gap_s == 0.5


def test_builds_then_finds_the_dataset_and_prints_statistics(tmp_path, capsys):
    bags = [
        write_synthetic_bag(tmp_path / f"run{i}", seconds=1.0, phase_s=i).path for i in range(3)
    ]
    config = dataset_config(
        tmp_path / "d.yaml",
        bags,
        split={"validation": 0.34, "test": 0.34},
        curation={"subsample": True},
    )
    assert main(["dataset", str(config), "--no-progress"]) == 0
    built = capsys.readouterr().out
    assert "before curation: 3 episodes, 60 frames" in built
    assert "after curation:" in built
    assert "train: 1 episodes" in built and "validation: 1 episodes" in built
    assert "written to the cache" in built
    assert main(["dataset", str(config), "--no-progress"]) == 0
    again = capsys.readouterr().out
    assert "found in the cache" in again and "before curation: 3 episodes, 60 frames" in again
    assert main(["dataset", str(config), "--json"]) == 0
    statistics = json.loads(capsys.readouterr().out)
    assert statistics["before"]["all"]["frames"] == 60


def test_bad_data_is_a_one_line_error(tmp_path, capsys):
    bag = write_synthetic_bag(tmp_path / "run", seconds=0.5, joints=False).path
    config = dataset_config(tmp_path / "d.yaml", [bag], split={"validation": 0, "test": 0})
    assert main(["dataset", str(config), "--no-progress"]) == 1
    assert "liquid-controller dataset: error: bag " in capsys.readouterr().err
