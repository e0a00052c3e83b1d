"""The BarrierNet benchmark's plumbing (not its timings): results files and the qpth skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from liquid_controller.benchmarks.barriernet import run, to_markdown, write_results


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # diffcp's numpy-2 copy warnings
def test_quick_run_without_qpth_says_so_and_writes_both_files(tmp_path: Path) -> None:
    missing = tmp_path / "no-venv" / "bin" / "python"
    result = run(quick=True, qpth_python=missing)
    assert result["peers"]["qpth"] == {
        "skipped": f"{missing} not found (qpth environment not set up, see bench/README.md)"
    }
    cvxpylayers = result["peers"]["cvxpylayers"]
    assert cvxpylayers["speedup"] == cvxpylayers["median_ms"] / result["ours"]["median_ms"]
    assert cvxpylayers["max_abs_diff_u_vs_ours"] < 0.05  # same problems, looser solver
    md, js = write_results(result, tmp_path / "results")
    assert json.loads(js.read_text()) == json.loads(json.dumps(result))
    text = md.read_text()
    assert text == to_markdown(result)
    assert f"| qpth | not measured: {missing} not found" in text
