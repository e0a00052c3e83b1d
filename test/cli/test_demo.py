import json
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--seconds", "inf"], "'inf' is out of range"),
        (["--seconds", "1e12"], "'1e12' is out of range"),
        (["--seconds", "0"], "'0' is out of range"),
        (["--seconds", "abc"], "'abc' is not a number"),
        (["--rate-hz", "nan"], "'nan' is out of range"),
        (["--seed", "-1"], "'-1' is out of range"),
        (["--seed", "1.5"], "'1.5' is not an integer"),
        (["--dropout", "nan", "nan"], "'nan' is out of range"),
        (["--dropout", "-1", "5"], "'-1' is out of range"),
        (["--dropout", "1", "inf"], "'inf' is out of range"),
    ],
)
def test_demo_rejects_bad_numbers_before_running(argv, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert named in err
    assert "expected" in err


def test_demo_checks_the_json_path_before_running(tmp_path, capsys):
    for bad, named in [
        (tmp_path / "missing" / "report.json", "does not exist"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["demo", "--json", str(bad)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert named in err
        assert "Traceback" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_demo_reports_a_full_disk_as_an_error(capsys):
    assert main(["demo", "--seconds", "0.1", "--json", "/dev/full"]) == 1
    err = capsys.readouterr().err
    assert "--json /dev/full: cannot write the report" in err
    assert "No space left" in err
