"""``liquid-controller replay``: a run prints its summary; bad arguments are errors naming them."""

from __future__ import annotations

import json

from mcap_bags import sensor_records, write_mcap_bag

from liquid_controller.cli import main


def test_replay_command_writes_bag_and_report(tmp_path, capsys):
    bag = write_mcap_bag(tmp_path / "in", sensor_records(0.5))
    code = main(["replay", str(bag), "--rate", "25", "-p", "input_timeout_s:=0.3", "--tail", "0.5"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ticks          " in out and "limits         0 violations" in out
    summary = json.loads((tmp_path / "in_replay_report" / "summary.json").read_text())
    assert summary["parameters"]["rate_hz"] == 25.0
    assert summary["parameters"]["input_timeout_s"] == 0.3
    assert summary["fallback_causes"]  # the tail: inputs went stale after the bag
    assert (tmp_path / "in_replay" / "metadata.yaml").is_file()


def test_bad_arguments_are_named(tmp_path, capsys):
    bag = write_mcap_bag(tmp_path / "in", sensor_records(0.2))
    cases = [
        (["-p", "rate_hz:=0"], "rate_hz"),
        (["-p", "no_such:=1"], "no_such: not a parameter"),
        (["-p", "rate_hz"], "NAME:=VALUE"),
        (["--topics", "lidar:=/scan"], "lidar"),
        (["-p", "command_type:=twist"], "float64_multi_array"),
    ]
    for extra, expected in cases:
        code = main(["replay", str(bag), "--no-report", "--out", str(tmp_path / "o"), *extra])
        err = capsys.readouterr().err
        assert code == 1 and expected in err, (extra, err)
        assert not (tmp_path / "o").exists()
    (tmp_path / "o").mkdir()
    assert main(["replay", str(bag), "--out", str(tmp_path / "o")]) == 1
    assert "exists already" in capsys.readouterr().err
