"""bench/bench_ros_latency.py's arithmetic (the ROS runs themselves are `make bench-ros`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_ros_latency.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_ros_latency", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # imports numpy only; rclpy only inside the runs
    yield module
    del sys.modules[spec.name]


def run(bench, p50, cpu, camera_p99, age_p50, missed=0):
    return bench.ScenarioResult(
        pipeline="composed",
        trigger="camera",
        executor="single",
        seconds=8.0,
        camera_frames=240,
        commands=240,
        command_rate_hz=30.0,
        latency_p50_ms=p50,
        latency_p99_ms=p50 + 1.0,
        latency_mean_ms=p50 + 0.1,
        frames_without_command=missed,
        callback_ms={"controller_node": {"camera": {"p50": 3.0, "p99": camera_p99}}},
        cpu_percent={"controller_node": cpu},
        camera_age_at_arrival_ms={"controller_node": {"p50": age_p50, "p99": age_p50 + 0.5}},
    )


def test_repeats_are_summarised_by_their_medians_keeping_each_run(bench):
    runs = [
        run(bench, 4.6, 26.0, 4.0, 1.2),
        run(bench, 5.6, 31.0, 4.4, 2.1, missed=1),
        run(bench, 4.9, 24.0, 3.9, 1.2),
    ]
    summary = bench.median_result(runs)
    assert summary.latency_p50_ms == 4.9 and summary.latency_p99_ms == 5.9
    assert summary.cpu_percent == {"controller_node": 26.0}
    assert summary.callback_ms == {"controller_node": {"camera": {"p50": 3.0, "p99": 4.0}}}
    assert summary.camera_age_at_arrival_ms == {"controller_node": {"p50": 1.2, "p99": 1.7}}
    assert summary.latency_p50_ms_runs == [4.6, 5.6, 4.9]
    assert summary.cpu_percent_runs == {"controller_node": [26.0, 31.0, 24.0]}
    assert summary.frames_without_command == 1 and summary.camera_frames == 720


def test_frame_latency_is_the_first_command_after_each_frame(bench):
    frames = [0, 100, 200]
    commands = [40, 90, 150, 260]  # the first after each frame: 40, 150, 260
    latencies, missed = bench.frame_latencies_ns(frames, commands)
    assert latencies == [40, 50, 60] and missed == 0
    latencies, missed = bench.frame_latencies_ns(frames, [40, 250])  # nothing in 100..200
    assert latencies == [40, 50] and missed == 1
