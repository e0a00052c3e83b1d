"""The decision tree: fidelity on held-out ticks only, exact for a network built on a known rule."""

from __future__ import annotations

import numpy as np
import pytest
from explain_fakes import random_episode, small_policy, torch

from liquid_controller.errors import ConfigError
from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.explain.rollout import rollout
from liquid_controller.explain.tree import fit_tree, tree_features
from liquid_controller.models.policy import LiquidPolicy, TorchPolicy, default_policy_spec

AX = "imu.linear_acceleration.x"


def rule_policy() -> LiquidPolicy:
    """A memoryless network whose command is tanh(+-2 ax): left up and right down when ax > 0."""
    spec = default_policy_spec(camera=False)
    config = {"core": {"cell": "feedforward", "units": 2, "layers": 1}}
    policy = LiquidPolicy(config, spec).double().eval()
    with torch.no_grad():
        for parameter in policy.parameters():
            parameter.zero_()
        linear = policy.core.rnn_cell[0]
        linear.weight[0, 0], linear.weight[1, 0] = 4.0, -4.0  # input is ax / std (2)
        policy.action_head.weight.copy_(torch.eye(2))
    return policy


def rule_episode(ticks: int, seed: int) -> ExplainEpisode:
    rng = np.random.default_rng(seed)
    imu = rng.normal([0, 0, 9.81, 0, 0, 0], 1.0, size=(ticks, 6))
    imu[:, 0] = rng.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], size=ticks)
    t_s = np.arange(ticks) * 0.02
    return ExplainEpisode("rule", t_s, np.full(ticks, 0.02), {"imu": imu})


def test_tree_of_a_known_rule_is_exact_on_held_out_ticks():
    policy = rule_policy()
    spec = policy.spec
    episode = rule_episode(300, seed=1)
    run = rollout(TorchPolicy(policy), episode)
    features = tree_features(spec, policy.neuron_types(), [episode], [run])
    result = fit_tree(features, run.action, spec.action.names, depth=2, bins=2, patterns=["imu.*"])
    assert result.fidelity == 1.0
    assert result.importances[AX] == 1.0
    assert f"{AX} <=" in result.rules
    # held out: the last 30 % of the ticks, disjoint from the fitted ones
    assert result.held_out_ticks.tolist() == list(range(210, 300))
    assert result.fit_ticks.tolist() == list(range(210))


def test_fidelity_is_not_the_training_accuracy():
    """A deep tree on a channel the network ignores fits its ticks but fails on held-out ones."""
    policy = rule_policy()
    episode = rule_episode(300, seed=2)
    run = rollout(TorchPolicy(policy), episode)
    features = tree_features(policy.spec, policy.neuron_types(), [episode], [run])
    noise = ["imu.angular_velocity.x"]
    result = fit_tree(features, run.action, policy.spec.action.names, depth=20, bins=2,
                      patterns=noise)  # fmt: skip
    from sklearn.tree import DecisionTreeClassifier

    assert result.fidelity < 0.8
    labels = (run.action[:, 0] > np.median(run.action[result.fit_ticks, 0])).astype(int)
    tree = DecisionTreeClassifier(max_depth=20, random_state=0)
    fit = result.fit_ticks
    tree.fit(features[noise[0]][fit, None], labels[fit])
    assert tree.score(features[noise[0]][fit, None], labels[fit]) > 0.95


def test_features_name_command_neurons_vectors_and_image_summaries():
    policy = small_policy()
    episode = random_episode(6)
    run = rollout(TorchPolicy(policy), episode)
    features = tree_features(policy.spec, policy.neuron_types(), [episode], [run])
    types = policy.neuron_types()
    commands = [f"command:{i}" for i, t in enumerate(types) if t == "command"]
    assert [n for n in features if n.startswith("command:")] == commands
    assert AX in features and "image.brightness.centre" in features
    assert all(v.shape == (6,) for v in features.values())


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"depth": 0}, "tree depth"),
        ({"bins": 1}, "tree bins"),
        ({"holdout": 1.0}, "tree holdout"),
        ({"patterns": ["nope*"]}, "tree features"),
    ],
)
def test_bad_tree_options_are_named(options, key):
    features = {"a": np.arange(20.0)}
    with pytest.raises(ConfigError, match=key):
        fit_tree(features, np.arange(40.0).reshape(20, 2), ("l", "r"), **options)
