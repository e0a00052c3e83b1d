"""--sim: episodes in the MuJoCo lane world, frames labelled from the simulator's ground truth."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")

from explain_fakes import small_policy  # noqa: E402

from liquid_controller.errors import ConfigError  # noqa: E402
from liquid_controller.explain.model import load_explained_model  # noqa: E402
from liquid_controller.explain.run import ExplainOptions, explain  # noqa: E402
from liquid_controller.explain.sim_episode import camera_labels, sim_episode  # noqa: E402
from liquid_controller.models.export import export_policy  # noqa: E402
from liquid_controller.package_files import find_data_file  # noqa: E402
from liquid_controller.runtime.policy import RuntimePolicy  # noqa: E402
from liquid_controller.sim.lane_env import LaneKeepingEnv  # noqa: E402


def test_labels_match_what_the_camera_sees():
    """Noise-free default world: pixels labelled marking are the bright paint, road is grey."""
    env = LaneKeepingEnv("oval", randomise=False, camera_noise=0.0)
    try:
        obs, _ = env.reset(seed=0)
        for _ in range(5):
            obs, *_ = env.step(np.array([0.05, 0.05]))
        labels = camera_labels(env.sim, obs["image"].shape[:2])
    finally:
        env.close()
    grey = obs["image"].astype(float).mean(axis=2)
    road, marking = grey[labels == 1], grey[labels == 2]
    assert road.size > 0.2 * grey.size and marking.size > 0.02 * grey.size
    assert marking.mean() > road.mean() + 60
    assert np.mean(marking > road.mean() + 30) > 0.8  # most marking pixels are paint
    assert np.mean(road < road.mean() + 30) > 0.95  # road pixels are not paint
    assert np.all(labels[0] == 0)  # the top row looks above the floor's painted area


def test_an_episode_driven_by_the_expert_explains_with_label_shares():
    model = load_explained_model(find_data_file("resource/default_policy.npz", key="model"))
    episode = sim_episode(model.runtime, seconds=0.1, driver="expert", seed=1)
    assert len(episode) == 5
    assert episode.masks.shape == (5, 66, 200) and episode.recorded_action.shape == (5, 2)
    options = ExplainOptions(
        frames=(4,), summary_frames=2, methods=("occlusion",), occlusion_patch=33, tree_holdout=0.4
    )
    result = explain(model, [episode], options=options)
    labels = result.attention["occlusion"]["labels"]
    assert set(labels) == {"other", "road", "lane marking"}
    assert sum(v["area"] for v in labels.values()) == pytest.approx(1.0)
    assert not any("no segmentation" in note for note in result.notes)


def test_a_policy_for_other_images_is_refused(tmp_path):
    export_policy(small_policy(), tmp_path / "small.npz")
    with pytest.raises(ConfigError, match="66x200"):
        sim_episode(RuntimePolicy.load(tmp_path / "small.npz"), seconds=0.1)
