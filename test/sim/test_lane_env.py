import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

from liquid_controller.models.policy import default_policy_spec  # noqa: E402
from liquid_controller.sim.lane_env import LaneKeepingEnv  # noqa: E402


@pytest.fixture(scope="module")
def env():
    env = LaneKeepingEnv("oval", render_mode="rgb_array")
    yield env
    env.close()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_passes_gymnasiums_env_checker(env):
    check_env(env, skip_render_check=False)


def test_spaces_match_the_policy_spec(env):
    spec = default_policy_spec()
    assert env.observation_space["image"].shape == (spec.image.height, spec.image.width, 3)
    for vector in spec.vectors:
        assert env.observation_space[vector.name].shape == (len(vector.fields),)
    assert env.action_space.shape == (spec.action.size,)
    assert env.action_space.high.tolist() == [2.0, 2.0]


def test_seeded_resets_are_deterministic_and_differ_between_seeds(env):
    def rollout(seed):
        obs, info = env.reset(seed=seed)
        frames = [obs["image"]]
        for _ in range(10):
            obs, *_ = env.step(np.array([0.3, 0.35]))
            frames.append(obs["image"])
        return np.stack(frames), obs["imu"], info["lateral_m"]

    a, b, c = rollout(3), rollout(3), rollout(4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])
    assert a[0].std() > 5  # a rendered scene, not a blank frame


def test_samples_come_at_the_sensor_rates(env):
    env.reset(seed=0)
    samples = []
    for _ in range(50):  # one simulated second at 50 Hz
        *_, info = env.step(np.zeros(2))
        samples += info["samples"]
    counts = {}
    for sample in samples:
        counts[sample.kind.value] = counts.get(sample.kind.value, 0) + 1
    assert counts == {"camera": 30, "imu": 100, "joint_states": 50}
    stamps = [s.stamp_s for s in samples if s.kind.value == "imu"]
    assert np.allclose(np.diff(stamps), 0.01, atol=0.0021)  # physics step 2 ms


def test_leaving_the_road_terminates():
    env = LaneKeepingEnv("oval", render_camera=False)
    env.reset(seed=1)
    for _ in range(500):
        _, _, terminated, truncated, info = env.step(np.array([0.4, 0.3]))  # curve right
        if terminated:
            break
    assert terminated and not truncated
    assert abs(info["lateral_m"]) > env.track.half_width_m


def test_registered_with_gymnasium():
    import gymnasium

    from liquid_controller.sim.lane_env import ENV_ID

    env = gymnasium.make(ENV_ID, track="kidney", render_camera=False)
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.track.name == "kidney" and obs["imu"].shape == (6,)
    env.close()


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    torques=st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=1, max_size=20),
)
def test_any_torques_give_finite_observations_and_truth(seed, torques):
    env = LaneKeepingEnv("corners", render_camera=False)
    env.reset(seed=seed)
    for torque in torques:
        obs, reward, terminated, _, info = env.step(np.array(torque))
        assert all(np.all(np.isfinite(v)) for v in obs.values())
        assert np.isfinite(reward) and np.isfinite(info["lateral_m"])
        if terminated:
            break
    env.close()
