"""Sensor-to-actuator latency, callback compute time and CPU use of the ROS nodes.

Runs, in ONE invocation and on the same machine state, four set-ups of the installed
nodes with the default camera policy (torch-free runtime) and the default safety config:

- ``separate`` (policy_node -> nominal topic -> safety_filter_node) vs ``composed``
  (controller_node: policy and filter in one process and one callback);
- ``trigger:=timer`` (step on the 50 Hz timer; the camera frame waits for the next tick)
  vs ``trigger:=camera`` (step on each new camera frame; the timer is the watchdog).

Each set-up runs ``--repeats`` times (default 3, set-ups interleaved, fresh processes each
time) and the results are the medians over those runs, with each run's latency p50 and CPU
kept: one run's numbers move with the machine's state (the camera transport alone comes
out near 1.2 ms in some runs and near 2 ms in others).

A feeder process publishes a 480x640 rgb8 camera at 30 Hz (resized by the node to the
policy input), IMU at 200 Hz and joint states at 100 Hz, stamped with the system clock at
publish time. This process receives the actuator commands and records their arrival
(system clock, same machine). Per camera frame, the latency is the time from its publish
to the first actuator command received after it: exact with ``trigger:=camera`` (each
frame triggers exactly one command); with ``trigger:=timer`` it includes the wait for the
next tick, and in the rare case that a tick fires between the publish and the frame's
arrival at the node it counts a command computed from the previous frame (a small
underestimate, documented in the results).

Callback compute time is what the nodes report on ``/diagnostics`` (whole callback:
message conversion, policy/filter, publishing). CPU use per node is from
``/proc/<pid>/stat`` (utime + stime) over the measuring window, in % of one core.

Run (after ``make ros-build``; writes ``bench/results/ros_latency.md`` and ``.json``)::

    make bench-ros
    # or: source scripts/ros_env.sh && python bench/bench_ros_latency.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

GOAL_CALLBACK_P99_MS = 2.0
GOAL_LATENCY_P50_MS = 5.0
GOAL_CPU_PERCENT = 25.0
CAMERA_HZ = 30.0
IMU_HZ = 200.0
JOINT_HZ = 100.0
POLICY_HZ = 50.0
IMAGE_SHAPE = (480, 640, 3)
ACTUATOR_TOPIC = "/effort_controller/commands"
JOINT_NAMES = ("left_wheel", "right_wheel")


# --------------------------------------------------------------------------- feeder


def synthetic_frames(count: int, seed: int = 0) -> list[bytes]:
    """Return ``count`` 480x640 rgb8 frames of a moving synthetic scene.

    Sky gradient, textured ground, a few coloured boxes and sensor noise: compressible
    and structured like a camera image (not white noise, not a constant).
    """
    rng = np.random.default_rng(seed)
    h, w, _ = IMAGE_SHAPE
    rows, cols = np.meshgrid(np.linspace(0.0, 1.0, h), np.linspace(0.0, 1.0, w), indexing="ij")
    frames = []
    for k in range(count):
        shift = k / count
        sky = np.stack([120 + 80 * rows, 160 + 60 * rows, 230 - 20 * rows], axis=-1)
        ground = np.stack(
            [
                90 + 40 * np.sin(40 * (cols + shift) * rows),
                110 + 30 * rows,
                70 + 20 * np.cos(25 * (cols - shift)),
            ],
            axis=-1,
        )
        img = np.where((rows > 0.45)[..., None], ground, sky)
        for i, colour in enumerate(([200, 40, 40], [40, 180, 60], [240, 220, 30])):
            x0 = int((0.15 + 0.3 * i + 0.1 * np.sin(2 * np.pi * (shift + i / 3))) * w)
            y0 = int(0.5 * h)
            img[y0 : y0 + 80, x0 : x0 + 60] = colour
        img += rng.normal(0.0, 4.0, img.shape)
        frames.append(np.clip(img, 0, 255).astype(np.uint8).tobytes())
    return frames


def run_feeder(seconds: float, times_out: Path, sensor_qos: str) -> None:
    """Publish camera, IMU and joint states at their rates; write camera publish times.

    ``sensor_qos`` is the publishers' reliability (``reliable`` or ``best_effort``), the
    same as the nodes' ``sensor_qos_reliability`` (a reliable subscription does not match
    a best-effort publisher).
    """
    import array

    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, Imu, JointState

    rclpy.init()
    node = rclpy.create_node("bench_feeder")
    reliability = ReliabilityPolicy[sensor_qos.upper()]
    qos = QoSProfile(depth=5, reliability=reliability)
    camera_pub = node.create_publisher(Image, "/camera/image_raw", qos)
    imu_pub = node.create_publisher(Imu, "/imu/data", qos)
    joint_pub = node.create_publisher(JointState, "/joint_states", qos)

    images = []
    for data in synthetic_frames(15):
        msg = Image(height=IMAGE_SHAPE[0], width=IMAGE_SHAPE[1], encoding="rgb8")
        msg.step = IMAGE_SHAPE[1] * 3
        msg.header.frame_id = "camera"
        msg.data = array.array("B", data)
        images.append(msg)
    imu = Imu()
    imu.header.frame_id = "imu"
    imu.orientation_covariance[0] = -1.0
    imu.linear_acceleration.z = 9.81
    joints = JointState(name=list(JOINT_NAMES), position=[0.0, 0.0], velocity=[0.0, 0.0])

    period = {"camera": 1 / CAMERA_HZ, "imu": 1 / IMU_HZ, "joints": 1 / JOINT_HZ}
    start = time.perf_counter() + 0.05
    due = dict.fromkeys(period, start)
    camera_times: list[int] = []
    frame = 0
    deadline = start + seconds
    while rclpy.ok() and time.perf_counter() < deadline:
        now = time.perf_counter()
        nxt = min(due.values())
        if now < nxt:
            time.sleep(nxt - now)
            continue
        stamp_ns = time.time_ns()
        sec, nanosec = divmod(stamp_ns, 1_000_000_000)
        if now >= due["imu"]:
            imu.header.stamp.sec, imu.header.stamp.nanosec = sec, nanosec
            imu.angular_velocity.z = 0.1 * np.sin(stamp_ns * 1e-9)
            imu_pub.publish(imu)
            due["imu"] += period["imu"]
        if now >= due["joints"]:
            joints.header.stamp.sec, joints.header.stamp.nanosec = sec, nanosec
            joint_pub.publish(joints)
            due["joints"] += period["joints"]
        if now >= due["camera"]:
            msg = images[frame % len(images)]
            frame += 1
            stamp_ns = time.time_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
            camera_pub.publish(msg)
            camera_times.append(stamp_ns)
            due["camera"] += period["camera"]
    times_out.write_text(json.dumps(camera_times))
    node.destroy_node()
    rclpy.try_shutdown()


# --------------------------------------------------------------------------- measurement


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, seconds (from /proc/<pid>/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile_ms(values_ns: list[int] | np.ndarray, q: float) -> float:
    """``q``-th percentile of nanosecond values, in milliseconds."""
    return float(np.percentile(np.asarray(values_ns, dtype=np.float64), q) / 1e6)


def frame_latencies_ns(camera_ns: list[int], actuator_ns: list[int]) -> tuple[list[int], int]:
    """Per camera frame: first actuator receipt after its publish minus the publish time.

    Returns:
        (latencies of the frames followed by a command before the next frame, count of
        frames with no command before the next frame).
    """
    act = np.asarray(sorted(actuator_ns), dtype=np.int64)
    latencies, missed = [], 0
    for i, t in enumerate(camera_ns):
        j = int(np.searchsorted(act, t, side="right"))
        nxt = camera_ns[i + 1] if i + 1 < len(camera_ns) else None
        if j < act.size and (nxt is None or act[j] < nxt):
            latencies.append(int(act[j] - t))
        else:
            missed += 1
    return latencies, missed


def callback_times_ms(values: dict[str, str]) -> dict[str, dict[str, float]]:
    """``{"camera.p99_us": "812.0", ...}`` -> ``{"camera": {"p99": 0.812}, ...}``."""
    out: dict[str, dict[str, float]] = {}
    for key, value in values.items():
        name, _, stat = key.rpartition(".")
        if stat in ("p50_us", "p99_us"):
            out.setdefault(name, {})[stat[:3]] = round(float(value) / 1e3, 4)
    return out


def worst_control_p99_ms(result: ScenarioResult) -> float:
    """Largest callback p99 on the control path (all callbacks but the 1 Hz diagnostics)."""
    return max(
        (t["p99"] for node in result.callback_ms.values() for name, t in node.items()
         if name != "diagnostics"),
        default=float("nan"),
    )  # fmt: skip


@dataclass
class ScenarioResult:
    """Numbers of one set-up."""

    pipeline: str
    trigger: str
    executor: str
    seconds: float
    camera_frames: int
    commands: int
    command_rate_hz: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_mean_ms: float
    frames_without_command: int
    callback_ms: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    """node -> callback -> {"p50": ms, "p99": ms}, from the node's "callbacks" record."""
    cpu_percent: dict[str, float] = field(default_factory=dict)
    camera_age_at_arrival_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    """node -> {"p50", "p99"}: camera stamp to its arrival in the node (DDS transport)."""
    latency_p50_ms_runs: list[float] = field(default_factory=list)
    """Each repeat's latency p50 (the other numbers are medians over the repeats)."""
    cpu_percent_runs: dict[str, list[float]] = field(default_factory=dict)
    """node -> each repeat's CPU %."""


def _median(values: list[float]) -> float:
    return float(np.median(values))


def median_result(runs: list[ScenarioResult]) -> ScenarioResult:
    """One set-up's repeats -> medians of every number, keeping each run's p50 and CPU.

    The machine's state moves between runs of the same code (the camera transport alone
    alternates between ~1.2 and ~2 ms here), so a verdict on one run would be luck.
    """
    first = runs[0]
    nodes = sorted({node for r in runs for node in r.cpu_percent})
    callbacks = sorted(
        {(node, name) for r in runs for node, times in r.callback_ms.items() for name in times}
    )
    callback_ms: dict[str, dict[str, dict[str, float]]] = {}
    for node, name in callbacks:
        present = [r.callback_ms[node][name] for r in runs if name in r.callback_ms.get(node, {})]
        callback_ms.setdefault(node, {})[name] = {
            q: round(_median([t[q] for t in present]), 4) for q in ("p50", "p99")
        }
    ages = sorted({node for r in runs for node in r.camera_age_at_arrival_ms})
    return ScenarioResult(
        pipeline=first.pipeline,
        trigger=first.trigger,
        executor=first.executor,
        seconds=round(sum(r.seconds for r in runs), 3),
        camera_frames=sum(r.camera_frames for r in runs),
        commands=sum(r.commands for r in runs),
        command_rate_hz=round(_median([r.command_rate_hz for r in runs]), 2),
        latency_p50_ms=round(_median([r.latency_p50_ms for r in runs]), 3),
        latency_p99_ms=round(_median([r.latency_p99_ms for r in runs]), 3),
        latency_mean_ms=round(_median([r.latency_mean_ms for r in runs]), 3),
        frames_without_command=sum(r.frames_without_command for r in runs),
        callback_ms=callback_ms,
        cpu_percent={
            n: round(_median([r.cpu_percent[n] for r in runs if n in r.cpu_percent]), 1)
            for n in nodes
        },
        camera_age_at_arrival_ms={
            n: {
                q: round(
                    _median(
                        [
                            r.camera_age_at_arrival_ms[n][q]
                            for r in runs
                            if n in r.camera_age_at_arrival_ms
                        ]
                    ),
                    3,
                )
                for q in ("p50", "p99")
            }
            for n in ages
        },  # fmt: skip
        latency_p50_ms_runs=[r.latency_p50_ms for r in runs],
        cpu_percent_runs={n: [r.cpu_percent[n] for r in runs if n in r.cpu_percent] for n in nodes},
    )


class Probe:
    """In-process rclpy node recording actuator arrivals and the nodes' diagnostics."""

    def __init__(self) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from std_msgs.msg import Float64MultiArray

        rclpy.init()
        self.node = rclpy.create_node("bench_probe")
        self.actuator_ns: list[int] = []
        self.diagnostics: dict[str, dict[str, str]] = {}
        self.sensor_age: dict[str, dict[str, str]] = {}
        self.recording = False
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(Float64MultiArray, ACTUATOR_TOPIC, self._on_command, reliable)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 20)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _on_command(self, msg: object) -> None:
        if self.recording:
            self.actuator_ns.append(time.time_ns())

    def _on_diag(self, msg: object) -> None:
        for status in msg.status:  # type: ignore[attr-defined]
            node = status.name.split(":")[0]
            if status.name.endswith(": callbacks"):
                self.diagnostics[node] = {kv.key: kv.value for kv in status.values}
            elif status.name.endswith(": sensor latency"):
                self.sensor_age[node] = {kv.key: kv.value for kv in status.values}

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        # The spin thread must be gone before the node: a C++ wait still running at
        # interpreter exit aborts the process ("terminate called without an active exception").
        self._thread.join(timeout=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown()


def executable(name: str) -> str:
    """Path of an installed node executable (the install space must be sourced)."""
    from ament_index_python.packages import get_package_prefix

    return str(Path(get_package_prefix("liquid_controller")) / "lib" / "liquid_controller" / name)


def start_nodes(
    pipeline: str, trigger: str, executor: str, sensor_qos: str, log_dir: Path
) -> dict[str, subprocess.Popen]:
    """Start the node processes of one set-up; return them by node name."""
    rate = ["-p", f"rate_hz:={POLICY_HZ}", "-p", f"sensor_qos_reliability:={sensor_qos}"]
    policy = [*rate, "-p", f"trigger:={trigger}"]
    if pipeline == "composed":
        commands = {"controller_node": [executable("controller_node"), "--ros-args", *policy]}
    else:
        commands = {
            "policy_node": [executable("policy_node"), "--ros-args", *policy],
            "safety_filter_node": [
                executable("safety_filter_node"),
                "--ros-args",
                *rate,
                "-r",
                "nominal_command:=/policy_node/nominal_command",
            ],
        }
    env = {**os.environ, "LIQUID_CONTROLLER_EXECUTOR": executor}
    procs = {}
    for name, cmd in commands.items():
        log = (log_dir / f"{pipeline}_{trigger}_{executor}_{name}.log").open("w")
        procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    return procs


def stop(procs: dict[str, subprocess.Popen]) -> None:
    """SIGINT each process, wait, kill if it hangs."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs.values():
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_scenario(
    probe: Probe,
    pipeline: str,
    trigger: str,
    executor: str,
    args: argparse.Namespace,
    log_dir: Path,
) -> ScenarioResult:
    """Measure one set-up for ``args.seconds`` after ``args.warmup`` seconds."""
    seconds, warmup = args.seconds, args.warmup
    procs = start_nodes(pipeline, trigger, executor, args.sensor_qos, log_dir)
    times_file = log_dir / f"{pipeline}_{trigger}_{executor}_camera_ns.json"
    feeder = subprocess.Popen(
        [sys.executable, __file__, "--feeder", str(warmup + seconds + 0.5), str(times_file),
         args.sensor_qos]
    )  # fmt: skip
    try:
        probe.actuator_ns.clear()
        probe.diagnostics.clear()
        probe.sensor_age.clear()
        time.sleep(warmup)
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {log_dir}")
        cpu0 = {name: cpu_seconds(p.pid) for name, p in procs.items()}
        t0_ns = time.time_ns()
        probe.recording = True
        time.sleep(seconds)
        probe.recording = False
        t1_ns = time.time_ns()
        cpu1 = {name: cpu_seconds(p.pid) for name, p in procs.items()}
        if feeder.wait(timeout=30) != 0:
            raise RuntimeError(f"the sensor feeder failed with {feeder.returncode}")
        # Diagnostics are published at 1 Hz: the last arrays cover the measuring window.
        diagnostics = dict(probe.diagnostics)
        sensor_age = dict(probe.sensor_age)
    finally:
        if feeder.poll() is None:
            feeder.kill()
        stop(procs)
    camera_ns = [t for t in json.loads(times_file.read_text()) if t0_ns <= t < t1_ns - 50_000_000]
    actuator_ns = list(probe.actuator_ns)
    latencies, missed = frame_latencies_ns(camera_ns, actuator_ns)
    if not latencies:
        raise RuntimeError(f"{pipeline}/{trigger}: no actuator command followed a camera frame")
    window_s = (t1_ns - t0_ns) / 1e9
    return ScenarioResult(
        pipeline=pipeline,
        trigger=trigger,
        executor=executor,
        seconds=round(window_s, 3),
        camera_frames=len(camera_ns),
        commands=len(actuator_ns),
        command_rate_hz=round(len(actuator_ns) / window_s, 2),
        latency_p50_ms=round(percentile_ms(latencies, 50), 3),
        latency_p99_ms=round(percentile_ms(latencies, 99), 3),
        latency_mean_ms=round(float(np.mean(latencies)) / 1e6, 3),
        frames_without_command=missed,
        callback_ms={node: callback_times_ms(values) for node, values in diagnostics.items()},
        camera_age_at_arrival_ms={
            node: {q: float(values[f"image.age_at_arrival_{q}_ms"]) for q in ("p50", "p99")}
            for node, values in sensor_age.items()
            if "image.age_at_arrival_p50_ms" in values
        },
        cpu_percent={
            name: round(100.0 * (cpu1[name] - cpu0[name]) / window_s, 1) for name in procs
        },
    )


# --------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    """PASS/FAIL word."""
    return "PASS" if ok else "FAIL"


def write_results(
    results: list[ScenarioResult],
    runs: list[ScenarioResult],
    out_dir: Path,
    args: argparse.Namespace,
) -> None:
    """Write ``ros_latency.json`` (medians and every run) and ``ros_latency.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "load_average": os.getloadavg(),
        "seconds_per_scenario": args.seconds,
        "repeats": args.repeats,
        "camera": f"{IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]} rgb8 at {CAMERA_HZ:g} Hz, "
        f"sensors {args.sensor_qos}",
        "fastdds_profile": Path(args.fastdds_profile).name
        if args.fastdds_profile != "none"
        else "Fast DDS defaults",
        "imu_hz": IMU_HZ,
        "joint_states_hz": JOINT_HZ,
        "policy_hz": POLICY_HZ,
    }
    (out_dir / "ros_latency.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "results": [asdict(r) for r in results],
                "runs": [asdict(r) for r in runs],
            },
            indent=2,
        )
        + "\n"
    )
    lines = [
        "# ROS node latency benchmark",
        "",
        f"Generated by `bench/bench_ros_latency.py` on {meta['date_utc']} UTC; "
        f"{meta['machine']}; load average {meta['load_average'][0]:.2f}.",
        f"Camera {meta['camera']}, IMU {IMU_HZ:g} Hz, joint states {JOINT_HZ:g} Hz, "
        f"policy rate {POLICY_HZ:g} Hz, DDS: {meta['fastdds_profile']}, "
        "default camera policy through the torch-free runtime, "
        "default safety config. Latency: camera publish -> first actuator command received "
        "after it (system clock, same machine). Camera transport: its header stamp (set at "
        "publish) to its arrival in the policy/controller node, from /diagnostics. "
        "Callback: wall time of each node callback "
        "(camera, imu, joint_states, nominal, timer, diagnostics) as the node reports it on "
        "/diagnostics (p99 over its last 500 calls). CPU: /proc/<pid>/stat, % of one core.",
        f"Each set-up ran {args.repeats} times ({args.seconds:g} s each, set-ups interleaved, "
        "fresh processes each time); every number is the median over those runs, with each "
        "run's latency p50 and CPU in parentheses.",
        "",
        "| pipeline | trigger | executor | cmd rate Hz | latency p50 ms (runs) | "
        "latency p99 ms | camera transport p50/p99 ms | "
        "callback p99 ms (per node and callback) | CPU % (per node; runs) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cb = "; ".join(
            f"{node}: " + ", ".join(f"{name} {t['p99']:.2f}" for name, t in sorted(times.items()))
            for node, times in sorted(r.callback_ms.items())
        )
        cpu = ", ".join(
            f"{k} {v:.1f} ({'/'.join(f'{x:.0f}' for x in r.cpu_percent_runs.get(k, []))})"
            for k, v in sorted(r.cpu_percent.items())
        )
        p50_runs = "/".join(f"{x:.1f}" for x in r.latency_p50_ms_runs)
        age = ", ".join(
            f"{v['p50']:.2f}/{v['p99']:.2f}" for _, v in sorted(r.camera_age_at_arrival_ms.items())
        )
        lines.append(
            f"| {r.pipeline} | {r.trigger} | {r.executor} | {r.command_rate_hz:.1f} | "
            f"{r.latency_p50_ms:.2f} ({p50_runs}) | "
            f"{r.latency_p99_ms:.2f} | {age} | {cb} | {cpu} |"
        )
    lines += ["", "## Goals (on the medians)", "",
              "| set-up | callback p99 < 2 ms | latency p50 < 5 ms | each node < 25% core |",
              "|---|---|---|---|"]  # fmt: skip
    for r in results:
        worst = worst_control_p99_ms(r)
        lines.append(
            f"| {r.pipeline}/{r.trigger}/{r.executor} | {verdict(worst < GOAL_CALLBACK_P99_MS)} "
            f"(worst {worst:.2f} ms) | "
            f"{verdict(r.latency_p50_ms < GOAL_LATENCY_P50_MS)} | "
            f"{verdict(all(v < GOAL_CPU_PERCENT for v in r.cpu_percent.values()))} |"
        )
    lines += [
        "",
        "With `trigger:=timer` the camera->actuator latency includes the wait for the next "
        "50 Hz tick (uniform over 0..20 ms, ~10 ms mean): the latency goal is for "
        "`trigger:=camera`. Frames without a command before the next frame (all runs): "
        + ", ".join(
            f"{r.pipeline}/{r.trigger}/{r.executor} {r.frames_without_command}" for r in results
        )
        + ".",
        "",
    ]
    (out_dir / "ros_latency.md").write_text("\n".join(lines))


def main() -> int:
    """Run all set-ups and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window per set-up")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per set-up (medians are reported)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="start-up time per set-up")
    parser.add_argument(
        "--executors",
        default="single,events",
        help="comma-separated LIQUID_CONTROLLER_EXECUTOR values to measure (single, events)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--sensor-qos",
        choices=("reliable", "best_effort"),
        default="reliable",
        help="sensor publishers' reliability and the nodes' sensor_qos_reliability "
        "(default reliable: a 921 KB best-effort image over Fast DDS loses most frames here)",
    )
    parser.add_argument(
        "--fastdds-profile",
        default=str(Path(__file__).resolve().parents[1] / "config" / "fastdds_large_messages.xml"),
        help="Fast DDS XML profile for every process of the run (default: the package's "
        "8 MiB shared-memory profile; 'none' for Fast DDS's defaults)",
    )
    parser.add_argument("--feeder", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feeder:
        run_feeder(float(args.feeder[0]), Path(args.feeder[1]), args.feeder[2])
        return 0
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    if args.fastdds_profile != "none":  # before any participant exists; children inherit it
        os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = args.fastdds_profile
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_ros_latency_{os.getpid()}"
    log_dir.mkdir(parents=True, exist_ok=True)
    probe = Probe()
    runs: dict[tuple[str, str, str], list[ScenarioResult]] = {}
    try:
        for _ in range(args.repeats):
            for executor in args.executors.split(","):
                for pipeline in ("separate", "composed"):
                    for trigger in ("timer", "camera"):
                        result = run_scenario(probe, pipeline, trigger, executor, args, log_dir)
                        print(json.dumps(asdict(result)), flush=True)
                        runs.setdefault((executor, pipeline, trigger), []).append(result)
    finally:
        probe.close()
    results = [median_result(set_up) for set_up in runs.values()]
    write_results(results, [r for set_up in runs.values() for r in set_up], args.out, args)
    print(f"wrote {args.out / 'ros_latency.md'} (node logs in {log_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
