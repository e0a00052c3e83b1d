"""Safety benchmark: the whole SafetyFilter.filter() call vs cvxpy DPP, DAQP, quadprog, OSQP.

Usage: ``python bench/bench_safety.py [--quick] [--out DIR]`` (same as
``liquid-controller bench --suite safety``); writes ``bench/results/safety.md`` and
``safety.json``.
"""

from __future__ import annotations

import sys

from liquid_controller.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--suite", "safety", *sys.argv[1:]]))
