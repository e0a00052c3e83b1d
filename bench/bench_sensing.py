"""Camera message to policy input (480x640 -> 66x200 RGB): ours vs peers, in one run.

The workload is the policy node's per-frame conversion: a 480x640 ``bgr8``
``sensor_msgs/Image`` (a rosbags type-store message, as in replay and
training) to the ``(66, 200, 3)`` uint8 RGB policy input. Measured side by side,
interleaved round-robin so machine noise hits every variant alike:

- ``ours fused``: ``image_to_rgb(msg, size=(66, 200))`` (resize before the
  channel shuffle);
- ``ours unfused``: ``resize_rgb(image_to_rgb(msg), 66, 200)``;
- ``torch``: numpy channel flip + ``torch.nn.functional.interpolate(bilinear,
  antialias=True)`` on a float tensor, one thread like Pillow, the usual
  training-pipeline way (the same filter; the table gives the largest pixel
  difference);
- ``scipy zoom``: numpy channel flip + ``scipy.ndimage.zoom(order=1)``, plain
  bilinear without antialiasing (cheaper, but it aliases: see its difference).

Also reported, without a peer: a 480x640 JPEG ``CompressedImage`` decoded and
resized (full decode, and ``jpeg_draft=True``), and the IMU / JointState
converters against a naive attribute read without checks (the price of validation).

Goals (ratios, same run): ours fused at least 1.0x the speed of torch, and at
least 1.2x the speed of ours unfused. Issue 4's callback budget (p99 < 2 ms for
the whole callback) is the context for the absolute numbers.

Run: ``.venv/bin/python bench/bench_sensing.py [--quick]`` (about 20 s); writes
``bench/results/sensing.md`` and ``sensing.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import scipy.ndimage
import torch
from PIL import Image as PILImage
from rosbags.typesys import Stores, get_typestore

from liquid_controller.sensing import (
    JointStateMapper,
    image_to_rgb,
    imu_to_vector,
    resize_rgb,
)

RESULTS = Path(__file__).resolve().parent / "results"
SOURCE_SHAPE = (480, 640)
TARGET_SHAPE = (66, 200)
GOAL_VS_TORCH = 1.0
GOAL_VS_UNFUSED = 1.2

TYPES = get_typestore(Stores.ROS2_JAZZY).types


def _header() -> Any:
    return TYPES["std_msgs/msg/Header"](
        stamp=TYPES["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="camera"
    )


def camera_messages(rng: np.random.Generator) -> tuple[Any, Any, np.ndarray]:
    """Return a bgr8 Image, a JPEG CompressedImage of the same frame, and its RGB pixels."""
    height, width = SOURCE_SHAPE
    # A smooth scene plus noise: realistic for JPEG size and for resize differences.
    y, x = np.mgrid[0:height, 0:width]
    scene = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    rgb = np.clip(scene + rng.normal(0, 12, scene.shape), 0, 255).astype(np.uint8)
    raw = TYPES["sensor_msgs/msg/Image"](
        header=_header(),
        height=height,
        width=width,
        encoding="bgr8",
        is_bigendian=0,
        step=width * 3,
        data=np.ascontiguousarray(rgb[:, :, ::-1]).reshape(-1),
    )
    stream = io.BytesIO()
    PILImage.fromarray(rgb).save(stream, format="JPEG", quality=90)
    jpeg = TYPES["sensor_msgs/msg/CompressedImage"](
        header=_header(),
        format="rgb8; jpeg compressed bgr8",
        data=np.frombuffer(stream.getvalue(), np.uint8),
    )
    return raw, jpeg, rgb


def torch_peer(msg: Any) -> np.ndarray:
    """Channel flip in numpy, antialiased bilinear resize in torch, back to uint8."""
    bgr = np.asarray(msg.data).reshape(msg.height, msg.step)[:, : msg.width * 3]
    rgb = np.ascontiguousarray(bgr.reshape(msg.height, msg.width, 3)[:, :, ::-1])
    tensor = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    small = torch.nn.functional.interpolate(
        tensor, size=TARGET_SHAPE, mode="bilinear", antialias=True, align_corners=False
    )
    return small[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def scipy_peer(msg: Any) -> np.ndarray:
    """Channel flip in numpy, plain bilinear zoom in scipy (no antialiasing)."""
    bgr = np.asarray(msg.data).reshape(msg.height, msg.step)[:, : msg.width * 3]
    rgb = bgr.reshape(msg.height, msg.width, 3)[:, :, ::-1]
    factors = (TARGET_SHAPE[0] / msg.height, TARGET_SHAPE[1] / msg.width, 1.0)
    return scipy.ndimage.zoom(rgb, factors, order=1, grid_mode=True, mode="nearest")


def imu_message() -> Any:
    vector3 = TYPES["geometry_msgs/msg/Vector3"]
    return TYPES["sensor_msgs/msg/Imu"](
        header=_header(),
        orientation=TYPES["geometry_msgs/msg/Quaternion"](0.0, 0.0, 0.0, 1.0),
        orientation_covariance=np.zeros(9),
        angular_velocity=vector3(0.01, 0.02, 0.03),
        angular_velocity_covariance=np.zeros(9),
        linear_acceleration=vector3(0.1, 0.2, 9.81),
        linear_acceleration_covariance=np.zeros(9),
    )


def naive_imu(msg: Any) -> np.ndarray:
    a, w = msg.linear_acceleration, msg.angular_velocity
    return np.array([a.x, a.y, a.z, w.x, w.y, w.z])


JOINTS = [f"joint_{i}" for i in range(6)]


def joint_message() -> Any:
    names = JOINTS[::-1] + ["gripper"]
    values = np.arange(len(names), dtype=np.float64)
    return TYPES["sensor_msgs/msg/JointState"](
        header=_header(), name=names, position=values, velocity=-values, effort=2 * values
    )


def naive_joints(msg: Any) -> np.ndarray:
    index = [msg.name.index(name) for name in JOINTS]
    return np.asarray(msg.position)[index]


def measure(variants: dict[str, Callable[[], Any]], rounds: int, inner: int) -> dict[str, Any]:
    """Time each variant ``inner`` calls per round, variants interleaved; per-call ms stats."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for function in variants.values():
        function()  # warm-up (imports, caches)
    for _ in range(rounds):
        for name, function in variants.items():
            start = time.perf_counter()
            for _ in range(inner):
                function()
            samples[name].append((time.perf_counter() - start) / inner * 1e3)
    return {
        name: {
            "median_ms": float(np.median(times)),
            "p99_ms": float(np.percentile(times, 99)),
            "min_ms": float(np.min(times)),
            "rounds": rounds,
            "calls_per_round": inner,
        }
        for name, times in samples.items()
    }


def run(quick: bool = False) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    raw, jpeg, _ = camera_messages(rng)
    rounds = 20 if quick else 200
    # Pillow resizes on one thread; give torch the same so the ratio compares algorithms.
    torch.set_num_threads(1)
    torch_threads = torch.get_num_threads()

    camera = measure(
        {
            "ours fused": lambda: image_to_rgb(raw, size=TARGET_SHAPE),
            "ours unfused": lambda: resize_rgb(image_to_rgb(raw), *TARGET_SHAPE),
            "torch": lambda: torch_peer(raw),
            "scipy zoom": lambda: scipy_peer(raw),
        },
        rounds,
        inner=2,
    )
    ours = image_to_rgb(raw, size=TARGET_SHAPE).astype(int)
    outputs = {
        "ours unfused": resize_rgb(image_to_rgb(raw), *TARGET_SHAPE),
        "torch": torch_peer(raw),
        "scipy zoom": scipy_peer(raw),
    }
    for name, output in outputs.items():
        camera[name]["max_abs_diff_vs_ours"] = int(np.abs(output.astype(int) - ours).max())
    fused = camera["ours fused"]["median_ms"]
    for name in ("ours unfused", "torch", "scipy zoom"):
        camera[name]["speedup_of_ours_fused"] = camera[name]["median_ms"] / fused

    imu, joints, mapper = imu_message(), joint_message(), JointStateMapper(JOINTS)
    other = measure(
        {
            "jpeg 480x640 decode + resize (ours)": lambda: image_to_rgb(jpeg, size=TARGET_SHAPE),
            "jpeg 480x640 decode + resize (ours, jpeg_draft)": lambda: image_to_rgb(
                jpeg, size=TARGET_SHAPE, jpeg_draft=True
            ),
            "imu_to_vector (ours)": lambda: imu_to_vector(imu),
            "imu naive read": lambda: naive_imu(imu),
            "JointStateMapper.map (ours)": lambda: mapper.map(joints),
            "joints naive read": lambda: naive_joints(joints),
        },
        rounds=max(rounds // 4, 5),
        inner=50,
    )
    return {
        "workload": {
            "source": f"{SOURCE_SHAPE[0]}x{SOURCE_SHAPE[1]} bgr8 sensor_msgs/Image (rosbags)",
            "target": f"{TARGET_SHAPE[0]}x{TARGET_SHAPE[1]} RGB uint8",
            "jpeg_bytes": int(np.asarray(jpeg.data).size),
        },
        "camera": camera,
        "other": other,
        "goals": {
            "ours fused vs torch": {
                "speedup": camera["torch"]["speedup_of_ours_fused"],
                "goal": GOAL_VS_TORCH,
                "met": camera["torch"]["speedup_of_ours_fused"] >= GOAL_VS_TORCH,
            },
            "ours fused vs ours unfused": {
                "speedup": camera["ours unfused"]["speedup_of_ours_fused"],
                "goal": GOAL_VS_UNFUSED,
                "met": camera["ours unfused"]["speedup_of_ours_fused"] >= GOAL_VS_UNFUSED,
            },
        },
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pillow": version("pillow"),
            "torch": torch.__version__,
            "torch_threads": torch_threads,
            "scipy": version("scipy"),
            "machine": platform.machine(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "quick": quick,
        },
    }


def to_markdown(results: dict[str, Any]) -> str:
    workload = results["workload"]
    lines = [
        "# Sensing: camera message to policy input",
        "",
        f"{workload['source']} -> {workload['target']}. Per-call times, median and p99 over "
        "interleaved rounds; speed-up = peer median / ours fused; lower ms is better.",
        "",
        "| variant | median ms | p99 ms | speed-up of ours fused | max abs diff vs ours |",
        "|---|---|---|---|---|",
    ]
    for name, row in results["camera"].items():
        speedup = f"{row['speedup_of_ours_fused']:.2f}x" if "speedup_of_ours_fused" in row else ""
        diff = row.get("max_abs_diff_vs_ours", "")
        lines.append(
            f"| {name} | {row['median_ms']:.3f} | {row['p99_ms']:.3f} | {speedup} | {diff} |"
        )
    lines += ["", "| goal | speed-up | goal | met |", "|---|---|---|---|"]
    for name, goal in results["goals"].items():
        met = "met" if goal["met"] else "NOT met"
        lines.append(f"| {name} | {goal['speedup']:.2f}x | >= {goal['goal']}x | {met} |")
    lines += [
        "",
        f"Other converters (JPEG: {workload['jpeg_bytes']} bytes, quality 90):",
        "",
        "| call | median us | p99 us |",
        "|---|---|---|",
    ]
    for name, row in results["other"].items():
        lines.append(f"| {name} | {row['median_ms'] * 1e3:.1f} | {row['p99_ms'] * 1e3:.1f} |")
    env = ", ".join(f"{key} {value}" for key, value in results["environment"].items())
    lines += ["", f"Environment: {env}.", "", "Re-run: `.venv/bin/python bench/bench_sensing.py`."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    args = parser.parse_args()
    results = run(quick=args.quick)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sensing.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = to_markdown(results)
    (RESULTS / "sensing.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
