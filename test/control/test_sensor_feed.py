"""The ROS-free feeds: what a subscription callback does with a message (nodes and replay)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
from control_fakes import IMAGE_SHAPE, LIMITS, SPEC, FakeFilter, FakePolicy

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.policy_runner import PolicyRunner, PolicyRunnerConfig
from liquid_controller.control.safety_runner import SafetyRunner
from liquid_controller.control.sensor_feed import JointFeed, PolicyFeed, SafetyJoints
from liquid_controller.control.tick_trigger import steps_on_camera_frame, steps_on_timer


def header(stamp_s: float) -> SimpleNamespace:
    sec = int(stamp_s)
    return SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=round((stamp_s - sec) * 1e9)))


def image_msg(stamp_s: float, encoding: str = "rgb8") -> SimpleNamespace:
    height, width, _ = IMAGE_SHAPE
    return SimpleNamespace(
        header=header(stamp_s), height=height, width=width, encoding=encoding,
        is_bigendian=0, step=3 * width, data=bytes(3 * width * height),
    )  # fmt: skip


def imu_msg(stamp_s: float, ax: float = 0.0) -> SimpleNamespace:
    vec = SimpleNamespace
    return SimpleNamespace(
        header=header(stamp_s),
        linear_acceleration=vec(x=ax, y=0.0, z=9.8),
        angular_velocity=vec(x=0.0, y=0.0, z=0.0),
        orientation=vec(x=0.0, y=0.0, z=0.0, w=1.0),
        orientation_covariance=[0.0] * 9,
        linear_acceleration_covariance=[0.0] * 9,
        angular_velocity_covariance=[0.0] * 9,
    )


def joint_msg(stamp_s: float, names, velocity=True) -> SimpleNamespace:
    return SimpleNamespace(
        header=header(stamp_s),
        name=list(names),
        position=[1.0, 2.0],
        velocity=[3.0, 4.0] if velocity else [],
        effort=[],
    )


def runner() -> PolicyRunner:
    return PolicyRunner(FakePolicy(), PolicyRunnerConfig(), timer=lambda: 0.0)


def test_accepted_inputs_reach_the_runner_with_their_stamps_and_ages():
    policy = runner()
    seen = []
    feed = PolicyFeed(policy, on_message=lambda name, now: seen.append((name, now)))
    assert feed.image(image_msg(10.0), now_s=10.004)
    assert feed.imu(imu_msg(10.001), now_s=10.005)
    assert seen == [("image", 10.004), ("imu", 10.005)]
    assert policy.watchdog.record("image").last_stamp_s == 10.0
    assert feed.arrival_age["imu"].percentile(50) == np.float64(10.005 - 10.001)
    assert policy.tick(10.006).nominal is not None


class ImageRecorder(FakePolicy):
    def step(self, obs, dt_s):
        self.image = obs["image"].copy()
        return super().step(obs, dt_s)


def test_the_spec_crop_is_cut_from_camera_frames_before_the_resize():
    height, width, _ = IMAGE_SHAPE
    cropped = dataclasses.replace(SPEC, image=dataclasses.replace(SPEC.image, crop=(2, 0, 0, 3)))
    recorder = ImageRecorder(cropped)
    policy = PolicyRunner(recorder, PolicyRunnerConfig(), timer=lambda: 0.0)
    frame = np.zeros((height + 2, width + 3, 3), np.uint8)
    frame[2:, :width] = 200  # what remains after the crop; the cut sides are black
    msg = image_msg(1.0)
    msg.height, msg.width, msg.step = height + 2, width + 3, 3 * (width + 3)
    msg.data = frame.tobytes()
    feed = PolicyFeed(policy)
    assert feed.image(msg, now_s=1.0)
    assert feed.imu(imu_msg(1.0), now_s=1.0)
    assert policy.tick(1.001).nominal is not None
    np.testing.assert_array_equal(recorder.image, np.full(IMAGE_SHAPE, 200, np.uint8))


def test_unknown_encoding_and_nan_are_dropped_and_counted():
    policy = runner()
    feed = PolicyFeed(policy)
    assert not feed.image(image_msg(1.0, encoding="32FC1"), now_s=1.0)
    assert not feed.imu(imu_msg(1.0, ax=float("nan")), now_s=1.0)
    assert policy.counters.dropped == {"image": 1, "imu": 1}
    assert "linear_acceleration.x': got nan" in policy.counters.last_drop_reason
    assert "image" not in feed.arrival_age


def test_joint_states_mapped_by_name_and_without_velocity_dropped():
    safety = SafetyRunner(FakeFilter(), CommandGuard(LIMITS))
    feed = JointFeed([(("left_wheel", "right_wheel"), SafetyJoints(safety))])
    feed.joint_state(joint_msg(2.0, ["right_wheel", "left_wheel"]), now_s=2.0)
    assert safety.watchdog.record("joint_state").last_stamp_s == 2.0
    feed.joint_state(joint_msg(2.1, ["right_wheel", "left_wheel"], velocity=False), now_s=2.1)
    feed.joint_state(joint_msg(2.2, ["left_wheel"]), now_s=2.2)
    assert safety.counters.dropped["joint_state"] == 2
    assert safety.watchdog.record("joint_state").last_stamp_s == 2.0


def test_trigger_rules():
    policy = runner()
    feed = PolicyFeed(policy)
    assert steps_on_timer("timer", policy, 0.0)
    assert steps_on_timer("camera", policy, 0.0)  # inputs never received: stale
    assert not steps_on_camera_frame("camera", policy, 0.0)
    feed.image(image_msg(1.0), now_s=1.0)
    feed.imu(imu_msg(1.0), now_s=1.0)
    assert steps_on_camera_frame("camera", policy, 1.01)
    assert not steps_on_timer("camera", policy, 1.01)
    assert not steps_on_camera_frame("timer", policy, 1.01)
