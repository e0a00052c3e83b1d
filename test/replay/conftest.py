"""Replay tests: bags written in ``tmp_path`` by other writers (mcap_ros2, rosbags)."""

import sys
from pathlib import Path

from liquid_controller.threads import prefer_single_thread

# As the replay command does (before numpy loads, when these tests run on their own): a
# multi-threaded BLAS makes each batch-1 policy step tens of times slower on a busy machine.
prefer_single_thread()

# bag_factory (rosbags' writer) lives with the dataset tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
