"""The bench command's suite registry and the core suite's goal verdicts."""

from __future__ import annotations

import pytest

from liquid_controller.benchmarks import SUITES, load_suite
from liquid_controller.benchmarks.core import GOALS, judge
from liquid_controller.cli import main
from liquid_controller.errors import ConfigError


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_registered_suite_has_the_suite_shape(name: str) -> None:
    suite = load_suite(name)
    for attribute in ("run", "to_markdown", "write_results"):
        assert callable(getattr(suite, attribute)), f"{name}.{attribute}"


def test_unknown_suite_is_refused() -> None:
    with pytest.raises(ConfigError, match="suite"):
        load_suite("nope")
    with pytest.raises(SystemExit) as info:
        main(["bench", "--suite", "nope"])
    assert info.value.code == 2


def _result(runtime_us: float, peer_us: float) -> dict:
    result: dict = {}
    for workload, peer, _ in GOALS.values():
        result.setdefault(workload, {"runtime": {"p50_us": runtime_us}})[peer] = {"p50_us": peer_us}
    return result


def test_goals_pass_only_at_the_required_ratio() -> None:
    assert all(g["met"] for g in judge(_result(1.0, 8.0)).values())
    verdicts = judge(_result(1.0, 3.0))
    assert verdicts["cfc_vs_onnxruntime"]["met"] and verdicts["camera_vs_torch"]["met"]
    assert not verdicts["cfc_vs_ncps"]["met"] and not verdicts["ltc_vs_ncps"]["met"]
    assert verdicts["ltc_vs_ncps"]["speedup_p50"] == pytest.approx(3.0)


def test_quick_core_suite_writes_its_results(tmp_path, capsys) -> None:
    """Smoke run of the real suite: every workload measured, outputs agree, files written."""
    import json

    assert main(["bench", "--suite", "core", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "core.json").read_text())
    assert set(result["goals"]) == set(GOALS)
    for workload, peer, _ in GOALS.values():
        assert result[workload]["runtime"]["p50_us"] > 0
        assert result[workload][peer]["max_abs_diff_vs_runtime"] < 1e-5
    assert result["processes"]["runtime"]["torch_imported"] is False
    assert result["processes"]["torch"]["torch_imported"] is True
    page = (tmp_path / "core.md").read_text()
    assert all(name in page for name in GOALS)
    assert "wrote" in capsys.readouterr().out
