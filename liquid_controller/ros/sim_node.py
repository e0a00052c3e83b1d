"""``sim_node``: the MuJoCo lane world on the ROS graph, in place of the robot and its drivers.

It owns the clock: every ``step_s`` of simulation it publishes ``/clock`` and every sensor
sample that fell due (``/camera/image_raw`` ``sensor_msgs/Image`` rgb8, optionally
``/camera/image_raw/compressed`` JPEG, ``/imu/data``, ``/joint_states``), stamped with the
simulation time and the URDF's frame ids, and applies the latest
``/effort_controller/commands`` (``std_msgs/Float64MultiArray``, left and right wheel torque,
N*m) as wheel torques. As a real effort controller with a command timeout would, it applies
zero torque once no valid command has arrived for ``command_timeout_s`` of simulation time;
a command with the wrong length or a non-finite value is ignored (counted, logged once).

The node runs on the wall clock (it must not wait for the ``/clock`` it publishes): a wall
timer fires every ``step_s / real_time_factor`` seconds and advances the simulation by
``step_s``. When the machine cannot keep up, the simulation runs slower than asked (the
achieved factor is logged every ``report_period_s``); it never skips physics.

Parameters (read at start): ``track`` (package track name or YAML path), ``seed`` (the
world's draw), ``randomise`` (colours, light, friction, noise, start pose from the seed),
``real_time_factor``, ``step_s``, ``command_timeout_s``, ``publish_compressed``,
``render_camera``, ``report_period_s``.
"""

from __future__ import annotations

import io
import math
import sys
import time
from typing import Any

import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CompressedImage, Image, Imu, JointState
from std_msgs.msg import Float64MultiArray, Header

from liquid_controller.errors import ConfigError
from liquid_controller.ros.messages import float64_sequence
from liquid_controller.ros.process import SIGNAL_CHECK_S, StopRequest, make_executor
from liquid_controller.ros.qos import command_qos

__all__ = ["SimNode", "main"]

NS_PER_S = 1_000_000_000
PARAMETERS: dict[str, Any] = {
    "track": "oval",
    "seed": 0,
    "randomise": True,
    "real_time_factor": 1.0,
    "step_s": 0.01,
    "command_timeout_s": 0.25,
    "publish_compressed": False,
    "render_camera": True,
    "report_period_s": 5.0,
}


class SimNode(Node):
    """Step the lane world and publish its sensors; apply the effort commands."""

    def __init__(self) -> None:
        super().__init__("sim_node")
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        params = {name: self.get_parameter(name).value for name in PARAMETERS}
        _check_parameters(params)
        self.params = params
        from liquid_controller.sim.simulation import LaneSimulation, SensorKind
        from liquid_controller.sim.track import load_track
        from liquid_controller.sim.world import WorldVariation, draw_variation

        self._kinds = SensorKind
        track = load_track(params["track"])
        rng = np.random.default_rng(params["seed"])
        variation = draw_variation(rng, track) if params["randomise"] else WorldVariation()
        self.sim = LaneSimulation(
            track, variation, render=params["render_camera"], seed=params["seed"]
        )
        robot = self.sim.description
        self._frames = {"camera": robot.camera.optical_frame, "imu": robot.imu.link}
        self._joints = [wheel.joint for wheel in robot.wheels]
        self._limit = np.array([wheel.effort_limit_nm for wheel in robot.wheels])
        imu = robot.imu
        self._covariances = [
            float64_sequence(np.diag([sigma**2] * 3).reshape(-1))
            for sigma in (imu.accel_noise_m_s2, imu.gyro_noise_rad_s)
        ]
        sensors = 10
        self._clock_pub = self.create_publisher(Clock, "/clock", 10)
        self._image_pub = self.create_publisher(Image, "camera/image_raw", sensors)
        self._compressed_pub = (
            self.create_publisher(CompressedImage, "camera/image_raw/compressed", sensors)
            if params["publish_compressed"]
            else None
        )
        self._imu_pub = self.create_publisher(Imu, "imu/data", sensors)
        self._joint_pub = self.create_publisher(JointState, "joint_states", sensors)
        self.create_subscription(
            Float64MultiArray, "effort_controller/commands", self._on_command, command_qos()
        )
        self._command = np.zeros(2)
        self._command_time_s: float | None = None
        self.rejected_commands = 0
        self._rejection_logged = False
        self._wall_start = time.perf_counter()
        self._last_report = (self._wall_start, 0.0)
        self._publish(self.sim.advance(np.zeros(2), 0.0))
        self.create_timer(params["step_s"] / params["real_time_factor"], self._on_step)
        self.get_logger().info(
            f"simulating track '{track.name}' (seed {params['seed']}) at "
            f"{params['real_time_factor']}x real time; camera "
            f"{'rendered' if self.sim.renders else 'off'}"
        )

    def applied_torque(self) -> np.ndarray:
        """Return the torque the wheels get now: the latest valid command, or zero if stale."""
        if self._command_time_s is None:
            return np.zeros(2)
        if self.sim.time_s - self._command_time_s > self.params["command_timeout_s"]:
            return np.zeros(2)
        return np.clip(self._command, -self._limit, self._limit)

    def _on_command(self, msg: Float64MultiArray) -> None:
        values = np.asarray(msg.data, dtype=np.float64)
        if values.shape != (2,) or not np.all(np.isfinite(values)):
            self.rejected_commands += 1
            if not self._rejection_logged:
                self._rejection_logged = True
                self.get_logger().warning(
                    f"ignoring a command of {values.tolist()}: expected 2 finite wheel "
                    "torques (left, right); further ones are counted silently"
                )
            return
        self._command = values
        self._command_time_s = self.sim.time_s

    def _on_step(self) -> None:
        self._publish(self.sim.advance(self.applied_torque(), self.params["step_s"]))
        now = time.perf_counter()
        wall_then, sim_then = self._last_report
        if now - wall_then >= self.params["report_period_s"]:
            factor = (self.sim.time_s - sim_then) / (now - wall_then)
            self.get_logger().info(f"real-time factor {factor:.2f} at t = {self.sim.time_s:.1f} s")
            self._last_report = (now, self.sim.time_s)

    def _publish(self, samples: list[Any]) -> None:
        for sample in samples:
            header = Header(stamp=_stamp(sample.stamp_s))
            if sample.kind is self._kinds.CAMERA:
                header.frame_id = self._frames["camera"]
                self._publish_image(header, sample.value)
            elif sample.kind is self._kinds.IMU:
                header.frame_id = self._frames["imu"]
                self._imu_pub.publish(self._imu_msg(header, sample.value))
            else:
                self._joint_pub.publish(
                    JointState(
                        header=header,
                        name=self._joints,
                        position=float64_sequence(sample.value[0]),
                        velocity=float64_sequence(sample.value[1]),
                    )
                )
        self._clock_pub.publish(Clock(clock=_stamp(self.sim.time_s)))

    def _publish_image(self, header: Header, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        self._image_pub.publish(
            Image(
                header=header,
                height=height,
                width=width,
                encoding="rgb8",
                is_bigendian=0,
                step=3 * width,
                data=rgb.tobytes(),
            )  # fmt: skip
        )
        if self._compressed_pub is not None:
            from PIL import Image as PILImage

            buffer = io.BytesIO()
            PILImage.fromarray(rgb).save(buffer, format="JPEG", quality=90)
            self._compressed_pub.publish(
                CompressedImage(
                    header=header, format="rgb8; jpeg compressed bgr8", data=buffer.getvalue()
                )  # fmt: skip
            )

    def _imu_msg(self, header: Header, reading: np.ndarray) -> Imu:
        msg = Imu(header=header)
        msg.orientation_covariance[0] = -1.0  # REP 145: no orientation estimate
        msg.linear_acceleration.x, msg.linear_acceleration.y, msg.linear_acceleration.z = (
            float(v) for v in reading[:3]
        )
        msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = (
            float(v) for v in reading[3:]
        )
        msg.linear_acceleration_covariance, msg.angular_velocity_covariance = self._covariances
        return msg

    def close(self) -> None:
        """Free the renderer."""
        self.sim.close()


def _stamp(time_s: float) -> Time:
    ns = round(time_s * NS_PER_S)
    return Time(sec=ns // NS_PER_S, nanosec=ns % NS_PER_S)


def _check_parameters(params: dict[str, Any]) -> None:
    for key in ("real_time_factor", "step_s", "command_timeout_s", "report_period_s"):
        value = params[key]
        if not (isinstance(value, float) and math.isfinite(value) and value > 0):
            raise ConfigError(key, value, "a positive number")
    if params["step_s"] > 0.1:
        raise ConfigError("step_s", params["step_s"], "at most 0.1 s (the sensors' periods)")
    if params["seed"] < 0:
        raise ConfigError("seed", params["seed"], "an integer >= 0")


def main(args: list[str] | None = None) -> int:
    """Run the node until SIGINT/SIGTERM or external shutdown; return the exit status.

    Signals only record a stop request that the spin loop polls (as for the package's other
    nodes): a ``KeyboardInterrupt`` raised inside MuJoCo's or rclpy's native code would
    surface as a failed call instead of a clean stop.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = StopRequest()
    stop.install()
    node: SimNode | None = None
    status = 0
    try:
        node = SimNode()
        executor = make_executor()
        executor.add_node(node)
        while stop.signal_name is None:
            executor.spin_once(timeout_sec=SIGNAL_CHECK_S)
    except ExternalShutdownException:
        pass
    except Exception as err:  # a failed start: one clear line, not a traceback
        print(f"[liquid_controller] fatal: {type(err).__name__}: {err}", file=sys.stderr)
        status = 1
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
