"""The live ~/policy_state plot (ros2 run liquid_controller policy_state_plot), headless."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from liquid_controller.msg import PolicyState

TOPIC = "/test_policy/policy_state"
TYPES = ["motor", "motor", "command", "command", "inter", "inter", "inter"]


def test_the_plot_follows_the_topic_and_rewrites_its_png(
    tmp_path, ros_node, start_process, install_prefix
):
    out = tmp_path / "state.png"
    executable = install_prefix / "lib" / "liquid_controller" / "policy_state_plot"
    plotter = start_process(
        [str(executable), "--topic", TOPIC, "--out", str(out), "--every-s", "0.2",
         "--window-s", "0.5"],
        label="plot",
    )  # fmt: skip
    ros_node.wait_for_subscribers(TOPIC, PolicyState, timeout_s=20.0)
    count = [0]

    def state() -> PolicyState:
        count[0] += 1
        msg = PolicyState(activity=[0.1 * count[0]] * len(TYPES), neuron_types=TYPES)
        msg.header.stamp = Time(sec=count[0] // 50, nanosec=(count[0] % 50) * 20_000_000)
        msg.dt_s, msg.inference_time_s, msg.state_reset = 0.02, 0.001, count[0] == 1
        return msg

    ros_node.publish_periodically(TOPIC, state, rate_hz=50.0)
    ros_node.wait_for(
        lambda: out.is_file() and "messages;" in plotter.output() and count[0] > 60,
        timeout_s=20.0,
        what="the plot's PNG after 60 messages",
    )
    ros_node.wait_for(lambda: plotter.output().count("messages;") >= 3, what="3 redraws")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    last = plotter.output().strip().splitlines()[-1]
    in_window = int(last.split("; ")[1].split()[0])
    assert in_window <= 27  # 0.5 s at 50 Hz (+1): older messages leave the window
