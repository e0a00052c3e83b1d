"""liquid-controller plot-state: PolicyState messages from a bag, read back and plotted."""

from __future__ import annotations

import numpy as np
import pytest

from liquid_controller.cli import main
from liquid_controller.data import typestore_with_custom_messages
from liquid_controller.data.bags import BagMessage, write_bag
from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.explain.policy_state import read_policy_states

TOPIC = "/controller_node/policy_state"
TYPES = ["motor", "motor", "command", "inter", "inter"]


def state_messages(store, steps: int, *, widths=None):
    state = store.types["liquid_controller/msg/PolicyState"]
    header = store.types["std_msgs/msg/Header"]
    stamp = store.types["builtin_interfaces/msg/Time"]
    for k in range(steps):
        width = len(TYPES) if widths is None else widths[k]
        yield BagMessage(
            TOPIC,
            1_000_000_000 + k * 20_000_000,
            state(
                header=header(stamp=stamp(sec=100, nanosec=k * 20_000_000), frame_id="base_link"),
                activity=np.sin(0.1 * k + np.arange(width, dtype=np.float64)),
                neuron_types=TYPES[:width],
                dt_s=0.02,
                inference_time_s=0.001,
                state_reset=k == 10,
            ),
        )


def test_states_are_read_back_and_plotted(tmp_path, capsys):
    store = typestore_with_custom_messages()
    bag = write_bag(tmp_path / "bag", state_messages(store, 30))
    states = read_policy_states(bag)
    assert states.topic == TOPIC
    np.testing.assert_allclose(states.t_s, 0.02 * np.arange(30), atol=1e-9)
    np.testing.assert_allclose(states.activity[3], np.sin(0.3 + np.arange(5)))
    assert states.neuron_types == tuple(TYPES)
    assert states.state_reset.nonzero()[0].tolist() == [10]
    out = tmp_path / "state.png"
    assert main(["plot-state", str(bag), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "30 steps" in capsys.readouterr().out


def test_a_changing_neuron_count_is_named(tmp_path):
    store = typestore_with_custom_messages()
    bag = write_bag(tmp_path / "bag", state_messages(store, 3, widths=[5, 5, 4]))
    with pytest.raises(MessageConversionError, match=r"policy_state\[2\]\.activity"):
        read_policy_states(bag)


def test_an_absent_topic_is_refused_listing_the_bags_topics(tmp_path):
    store = typestore_with_custom_messages()
    bag = write_bag(tmp_path / "bag", state_messages(store, 2))
    with pytest.raises(ConfigError, match="topics of the bag"):
        read_policy_states(bag, "/imu/data")


def test_state_window_keeps_the_newest_seconds_and_restarts_on_another_model():
    from types import SimpleNamespace

    from liquid_controller.explain.policy_state import StateWindow

    def msg(t: float, width: int = 5):
        stamp = SimpleNamespace(sec=int(t), nanosec=round((t % 1) * 1e9))
        return SimpleNamespace(header=SimpleNamespace(stamp=stamp), activity=[t] * width,
                               neuron_types=TYPES[:width], dt_s=0.1, inference_time_s=0.01,
                               state_reset=False)  # fmt: skip

    window = StateWindow(TOPIC, window_s=1.0)
    assert window.states() is None
    for k in range(30):
        window.add(msg(100 + 0.1 * k))
    states = window.states()
    assert states.t_s.size == 11 and states.activity[0, 0] == pytest.approx(101.9)
    np.testing.assert_allclose(states.t_s, 0.1 * np.arange(11), atol=1e-6)
    window.add(msg(103.0, width=4))
    assert window.states().activity.shape == (1, 4) and window.received == 31
    with pytest.raises(ConfigError, match="window_s"):
        StateWindow(TOPIC, 0.0)
