"""sim collect: bags with the topics and types a real robot records, readable by rosbags and
by the mcap reader (mcap + mcap-ros2-support), stamped with the simulation time."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("mcap_ros2")
from mcap.reader import make_reader  # noqa: E402
from mcap_ros2.decoder import DecoderFactory  # noqa: E402
from rosbags.highlevel import AnyReader  # noqa: E402

from liquid_controller.cli import main  # noqa: E402
from liquid_controller.errors import ConfigError  # noqa: E402
from liquid_controller.sim.collect import collect  # noqa: E402

TYPES = {
    "/camera/image_raw": "sensor_msgs/msg/Image",
    "/imu/data": "sensor_msgs/msg/Imu",
    "/joint_states": "sensor_msgs/msg/JointState",
    "/effort_controller/commands": "std_msgs/msg/Float64MultiArray",
    "/expert/commands": "std_msgs/msg/Float64MultiArray",
}
SECONDS = 2.0


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    out = tmp_path_factory.mktemp("bags")
    summaries = collect(out, 2, seconds=SECONDS, seed=5, workers=2, progress=False)
    return out, summaries


def test_one_bag_per_episode_on_the_training_tracks(bags):
    out, summaries = bags
    assert [s.track for s in summaries] == ["corners", "oval"]  # kidney is held out
    assert sorted(p.name for p in out.iterdir()) == ["corners_seed0005", "oval_seed0006"]
    for s in summaries:
        assert s.sim_seconds == pytest.approx(SECONDS)
        assert s.frames == 61  # 30 Hz from t = 0 to 2 s
        assert s.departures == 0


def test_rosbags_reads_the_robots_topics_with_header_stamps(bags):
    out, _ = bags
    with AnyReader([out / "oval_seed0006"]) as reader:
        assert {c.topic: c.msgtype for c in reader.connections} == TYPES
        counts = dict.fromkeys(TYPES, 0)
        for connection, log_ns, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            counts[connection.topic] += 1
            if connection.topic in ("/effort_controller/commands", "/expert/commands"):
                assert msg.data.shape == (2,) and np.all(np.abs(msg.data) <= 2.0)
                continue
            stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            assert stamp_ns == log_ns
            if connection.topic == "/camera/image_raw":
                assert (msg.height, msg.width, msg.encoding) == (66, 200, "rgb8")
                assert msg.header.frame_id == "camera_optical_frame"
            elif connection.topic == "/imu/data":
                assert msg.header.frame_id == "imu_link"
                assert msg.orientation_covariance[0] == -1.0
                assert msg.linear_acceleration.z == pytest.approx(9.81, abs=1.0)
            else:
                assert list(msg.name) == ["left_wheel", "right_wheel"]
    assert counts == {
        "/camera/image_raw": 61,
        "/imu/data": 201,
        "/joint_states": 101,
        "/effort_controller/commands": 100,
        "/expert/commands": 100,
    }


def test_the_mcap_reader_decodes_every_message(bags):
    out, _ = bags
    (path,) = (out / "corners_seed0005").glob("*.mcap")
    seen = {}
    with path.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for schema, channel, _, decoded in reader.iter_decoded_messages():
            seen[channel.topic] = schema.name
            if channel.topic == "/camera/image_raw":
                image = np.frombuffer(bytes(decoded.data), np.uint8).reshape(66, 200, 3)
                assert image.std() > 5
    assert seen == TYPES


def test_existing_bag_folders_are_refused_before_recording(bags):
    out, _ = bags
    with pytest.raises(ConfigError, match="--out"):
        collect(out, 1, seconds=1.0, seed=5, workers=1, progress=False)


def test_cli_records_and_reports(tmp_path, capsys):
    code = main(["sim", "collect", "--episodes", "1", "--out", str(tmp_path / "b"),
                 "--seconds", "0.5", "--track", "kidney", "--workers", "1",
                 "--no-progress"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "kidney seed 0, 0.5 s, 16 frames" in out
    assert (tmp_path / "b" / "kidney_seed0000").is_dir()


def test_the_dataset_builder_reads_the_bags_with_the_package_config(bags, tmp_path):
    import yaml

    from liquid_controller.train.dataset import load_dataset

    out, _ = bags
    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "config" / "dataset.yaml").read_text())
    config.update(bags=[str(out)], cache_dir=str(tmp_path / "cache"))
    config["split"].update(validation=0.5, test=0.0)
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(config))
    splits = load_dataset(path, progress=False)
    episodes = splits.split("train") + splits.split("validation")
    assert len(episodes) == 2
    # 20 Hz policy ticks over 2 s, camera, IMU and the executed command aligned on each.
    assert all(len(e) >= 35 for e in episodes)


def test_a_policy_drives_and_the_expert_labels_its_states(tmp_path, capsys):
    model = Path(__file__).resolve().parents[2] / "resource" / "default_policy.npz"
    code = main(["sim", "collect", "--episodes", "1", "--out", str(tmp_path / "b"),
                 "--seconds", "1.0", "--driver", str(model), "--workers", "1",
                 "--no-progress"])  # fmt: skip
    assert code == 0
    # the frames before each tick: the one at 1.0 s has no tick after it
    assert "corners seed 0, 1.0 s, 30 frames" in capsys.readouterr().out
    commands = {"/effort_controller/commands": [], "/expert/commands": []}
    with AnyReader([tmp_path / "b" / "corners_seed0000"]) as reader:
        assert {c.topic: c.msgtype for c in reader.connections} == TYPES
        wanted = [c for c in reader.connections if c.topic in commands]
        for connection, log_ns, raw in reader.messages(connections=wanted):
            data = reader.deserialize(raw, connection.msgtype).data
            commands[connection.topic].append((log_ns, tuple(data)))
    executed, labels = commands.values()
    assert len(executed) == len(labels) == 50  # every tick at 50 Hz, both at the tick's time
    assert [t for t, _ in executed] == [t for t, _ in labels]
    assert all(abs(u) <= 2.0 for _, command in executed + labels for u in command)
    assert executed != labels  # the policy's commands, not the expert's


def test_a_driver_that_does_not_load_is_refused_before_recording(tmp_path):
    from liquid_controller.errors import LiquidControllerError

    with pytest.raises(LiquidControllerError, match="nowhere.npz"):
        collect(tmp_path / "b", 1, seconds=1.0, driver=str(tmp_path / "nowhere.npz"),
                workers=1, progress=False)  # fmt: skip
    assert not (tmp_path / "b").exists()
