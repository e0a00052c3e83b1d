"""Episodes from bags through the training data path; configs that do not fit the policy."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from explain_fakes import IMAGE, small_spec

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from bag_factory import dataset_config, write_synthetic_bag  # noqa: E402

from liquid_controller.errors import ConfigError  # noqa: E402
from liquid_controller.explain.episode import bag_dataset_config, episodes_from_bag  # noqa: E402
from liquid_controller.runtime.spec import PolicySpec, VectorInput  # noqa: E402


def test_a_bag_with_a_gap_gives_one_episode_per_stretch(tmp_path):
    bag = write_synthetic_bag(tmp_path / "bag", seconds=3.0, image_size=IMAGE, gaps=[(1.0, 2.0)])
    spec = small_spec()
    episodes = episodes_from_bag(bag.path, spec, bag_dataset_config(bag.path, spec, rate_hz=20))
    assert [len(e) for e in episodes] == [20, 20]
    first = episodes[0]
    assert first.observations["image"].shape == (20, *IMAGE, 3)
    np.testing.assert_allclose(first.observations["imu"][:, 0], bag.ax[:20], atol=1e-6)
    np.testing.assert_allclose(first.recorded_action, bag.action[:20], atol=1e-6)
    assert first.masks is None and set(first.observations) == {"image", "imu"}


def test_default_config_reads_the_joints_a_policy_takes(tmp_path):
    base = small_spec(camera=False)
    joints = VectorInput("joint_velocity", ("left_wheel", "right_wheel"), ("rad/s",) * 2,
                         (0.0, 0.0), (1.0, 1.0))  # fmt: skip
    spec = PolicySpec(action=base.action, vectors=(*base.vectors, joints))
    config = bag_dataset_config(tmp_path, spec)
    assert config.topics.joint_states == "/joint_states" and config.topics.camera is None
    assert config.joints.names == ("left_wheel", "right_wheel")
    assert config.joints.quantities == ("velocity",) and config.rate_hz == 50.0


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"image": {"height": 10, "width": 10}}, "image"),
        ({"topics": {"camera": "/camera/image_raw", "joint_states": "/joint_states"}}, "imu"),
        ({"actions": ["a", "b"]}, "actions"),
    ],
)
def test_a_dataset_config_that_does_not_fit_the_policy_is_named(tmp_path, overrides, key):
    path = dataset_config(tmp_path / "data.yaml", [tmp_path / "bag"], image_size=IMAGE, **overrides)
    with pytest.raises(ConfigError, match=key):
        bag_dataset_config(tmp_path / "bag", small_spec(), config_path=path)


def test_unknown_role_and_missing_bag_are_named(tmp_path):
    with pytest.raises(ConfigError, match="topics.lidar"):
        bag_dataset_config(tmp_path, small_spec(), topics={"lidar": "/scan"})
    config = bag_dataset_config(tmp_path / "nope", small_spec())
    with pytest.raises(ConfigError, match="nope"):
        episodes_from_bag(tmp_path / "nope", small_spec(), config)
