"""Simulation benchmark: MuJoCo physics step, camera render, episode real-time factor, frames/s.

Usage: ``python bench/bench_sim.py [--quick] [--out DIR]`` (same as
``liquid-controller bench --suite sim``); writes ``bench/results/sim.md`` and
``sim.json``.
"""

from __future__ import annotations

import sys

from liquid_controller.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--suite", "sim", *sys.argv[1:]]))
