import json

from liquid_controller.cli import main


def test_demo_runs_on_the_defaults_and_writes_its_report(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["demo", "--seconds", "2", "--dropout", "0.5", "0.6", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "all finite and within limits" in printed
    assert "camera dropout 0.5-1.1 s: safe command after" in printed
    report = json.loads(out.read_text())
    assert report["ticks"] == 100
    assert report["commands_within_limits"] is True
    # Stale 0.25 s into the dropout, until frames return: 0.75 s to 1.1 s at 50 Hz.
    assert 17 <= report["fallback_ticks"] <= 19


def test_demo_reports_a_missing_model_as_an_error(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "missing.npz"), "--seconds", "0.1"]) == 1
    assert "missing.npz" in capsys.readouterr().err
