"""Core benchmark: torch-free runtime vs ncps eager, ONNX Runtime and the torch policy.

Usage: ``python bench/bench_core.py [--quick] [--out DIR]`` (same as
``liquid-controller bench --suite core``); writes ``bench/results/core.md`` and
``core.json``.
"""

from __future__ import annotations

import sys

from liquid_controller.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--suite", "core", *sys.argv[1:]]))
