"""sim evaluate: closed-loop metrics through the control pipeline, for the expert and the
shipped default policy (its lap-keeping claim: test_shipped_policy.py)."""

import json
from pathlib import Path

import pytest

pytest.importorskip("mujoco")

from liquid_controller.cli import main  # noqa: E402
from liquid_controller.errors import ConfigError  # noqa: E402
from liquid_controller.sim.evaluate import evaluate, summarise  # noqa: E402

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resource" / "default_policy.npz"


def test_expert_keeps_the_lane_through_the_filter_within_limits():
    (m,) = evaluate("expert", tracks=["corners"], seeds=[1], laps=0.3, workers=1,
                    progress=False)  # fmt: skip
    assert m.completed and m.laps >= 0.3
    assert m.departures == 0 and m.max_abs_lateral_m < 0.15
    assert m.limit_violations == 0 and 0 < m.max_abs_effort <= m.effort_limit == 2.0
    assert m.ticks == pytest.approx(m.survival_s * 50, abs=1)
    assert m.filter_us_p50 > 0 and m.policy_us_p50 > 0


def test_default_policy_is_measured_and_bounded(tmp_path, capsys):
    json_path = tmp_path / "eval.json"
    code = main(["sim", "evaluate", "--model", str(DEFAULT_MODEL), "--track", "oval",
                 "--seeds", "0", "--max-seconds", "2", "--workers", "1", "--no-progress",
                 "--camera-noise", "0.02", "--json", str(json_path)])  # fmt: skip
    assert code == 0
    assert "summary: " in capsys.readouterr().out
    document = json.loads(json_path.read_text())
    (episode,) = document["episodes"]
    assert episode["limit_violations"] == 0
    assert episode["max_abs_effort"] <= 2.0
    assert episode["ticks"] > 0 and episode["survival_s"] <= 2.0 + 1e-6
    assert document["settings"]["camera_noise"] == 0.02 and document["settings"]["safety"]
    assert document["summary"]["episodes"] == 1


def test_summary_aggregates_episodes():
    metrics = evaluate("expert", tracks=["oval", "kidney"], seeds=[0], laps=0.05, workers=1,
                       progress=False)  # fmt: skip
    summary = summarise(metrics)
    assert summary["episodes"] == 2 and summary["completed"] == 2
    assert summary["distance_m_total"] == pytest.approx(sum(m.distance_m for m in metrics))


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"tracks": []}, "--track"), ({"seeds": []}, "--seeds"), ({"laps": 0}, "--laps"),
     ({"camera_noise": 2.0}, "--camera-noise"), ({"tracks": ["monza"]}, "track")],
)  # fmt: skip
def test_bad_settings_are_refused_up_front(kwargs, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        evaluate("expert", **{"tracks": ["oval"], **kwargs}, workers=1, progress=False)
