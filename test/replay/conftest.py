"""Replay tests: bags written in ``tmp_path`` by other writers (mcap_ros2, rosbags)."""

import sys
from pathlib import Path

# bag_factory (rosbags' writer) lives with the dataset tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
