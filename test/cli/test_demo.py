import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liquid_controller.cli import main

OUTPUTS = ("top_view.png", "signals.png", "neurons.png", "animation.gif")


def test_demo_runs_the_default_policy_in_the_lane_world_and_writes_its_outputs(tmp_path, capsys):
    out = tmp_path / "demo_out"
    report_path = tmp_path / "report.json"
    argv = ["demo", "--seconds", "1.5", "--dropout", "0.5", "0.6", "--no-progress",
            "--out", str(out), "--json", str(report_path)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "dep/km" in printed  # the metrics table
    assert "0 limit violations" in printed
    assert "camera dropout 0.5-1.1 s: safe command after" in printed
    report = json.loads(report_path.read_text())
    metrics = report["metrics"]
    assert metrics["track"] == "oval"
    assert metrics["ticks"] == 75
    assert metrics["limit_violations"] == 0
    assert metrics["max_abs_effort"] <= metrics["effort_limit"]
    # Stale 0.25 s into the dropout, until frames return: 0.75 s to 1.1 s at 50 Hz.
    assert 17 <= metrics["fallbacks"] <= 19
    # The input timeout (0.25 s) counts from the last frame, up to a camera period (30 Hz)
    # before the dropout began.
    assert 0.25 - 1 / 30 - 0.02 <= report["fallback_after_dropout_s"] <= 0.27
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    with Image.open(out / "animation.gif") as gif:
        assert gif.n_frames == 15  # 10 frames per simulated second
        assert gif.width > gif.height


def test_demo_takes_track_noise_and_seed(tmp_path, capsys):
    argv = ["demo", "--seconds", "0.3", "--track", "kidney", "--camera-noise", "0.2", "--seed",
            "7", "--dropout", "0", "0", "--no-progress", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "kidney, seed 7" in printed
    assert "camera dropout" not in printed


def test_trace_records_every_tick_within_the_filter_limits():
    from liquid_controller.package_files import find_data_file
    from liquid_controller.sim.demo import run_demo

    model = str(find_data_file("resource/default_policy.npz", key="model"))
    result = run_demo(model, seconds=0.5, progress=False)
    data = result.trace.arrays()
    ticks = result.metrics.ticks
    assert data["command"].shape == (ticks, 2)
    assert data["activity"].shape == (ticks, 19)
    assert len(result.neuron_types) == 19
    low, high = result.effort_limits
    assert np.all((data["command"] >= low) & (data["command"] <= high))
    assert np.all(np.diff(data["t_s"]) > 0)


def test_demo_reports_a_missing_model_as_an_error(tmp_path, capsys):
    argv = ["demo", "--model", str(tmp_path / "missing.npz"), "--seconds", "0.1",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 1
    assert "missing.npz" in capsys.readouterr().err


def test_demo_reports_an_unknown_track_as_an_error(tmp_path, capsys):
    assert main(["demo", "--track", "moon", "--seconds", "0.1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "'moon'" in err
    assert "oval" in err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--seconds", "inf"], "'inf' is out of range"),
        (["--seconds", "1e12"], "'1e12' is out of range"),
        (["--seconds", "0"], "'0' is out of range"),
        (["--seconds", "abc"], "'abc' is not a number"),
        (["--rate-hz", "nan"], "'nan' is out of range"),
        (["--rate-hz", "600"], "'600' is out of range"),
        (["--seed", "-1"], "'-1' is out of range"),
        (["--seed", "1.5"], "'1.5' is not an integer"),
        (["--camera-noise", "2"], "'2' is out of range"),
        (["--camera-noise", "-0.1"], "'-0.1' is out of range"),
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


def test_demo_checks_the_output_paths_before_running(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("")
    for option, bad, named in [
        ("--json", tmp_path / "missing" / "report.json", "does not exist"),
        ("--json", tmp_path, "is a directory"),
        ("--out", a_file, "is not a directory"),
        ("--out", tmp_path / "missing" / "out", "does not exist"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["demo", option, str(bad)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert named in err
        assert "Traceback" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_demo_reports_a_full_disk_as_an_error(tmp_path, capsys):
    argv = ["demo", "--seconds", "0.1", "--no-progress", "--out", str(tmp_path),
            "--json", "/dev/full"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--json /dev/full: cannot write the report" in err
    assert "No space left" in err


def test_building_the_command_line_loads_no_numpy(tmp_path):
    # demo sets one BLAS thread before numpy loads (liquid_controller.threads); a
    # subcommand's module importing numpy at registration made the policy step ~10x slower.
    import subprocess
    import sys

    code = "import sys; from liquid_controller.cli import build_parser; build_parser(); " \
        "print('numpy' in sys.modules)"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout  # fmt: skip
    assert out.strip() == "False"
