"""liquid-controller explain on a bag written here: the report and its numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from explain_fakes import IMAGE, small_policy

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from bag_factory import write_synthetic_bag  # noqa: E402

from liquid_controller.cli import main  # noqa: E402
from liquid_controller.models.checkpoint import save_checkpoint  # noqa: E402
from liquid_controller.models.export import export_policy  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain")
    bag = write_synthetic_bag(folder / "bag", seconds=3.0, rate_hz=20.0, image_size=IMAGE).path
    policy = small_policy()
    save_checkpoint(folder / "policy.ckpt", policy)
    export_policy(policy, folder / "policy.npz")
    return folder, bag


def test_report_from_a_checkpoint_and_a_bag(files, capsys):
    folder, bag = files
    out = folder / "report"
    argv = ["explain", "--model", str(folder / "policy.ckpt"), "--bag", str(bag), "--out",
            str(out), "--rate", "20", "--summary-frames", "3", "--frames", "5", "40"]  # fmt: skip
    assert main(argv) == 0
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4  # activity, raster, wiring, saliency
    for section in ("Neuron activity", "Raster", "Wiring", "Decision tree", "Attention"):
        assert section in page
    numbers = json.loads((out / "explanation.json").read_text())
    assert numbers["ticks"] == 60
    assert set(numbers["neurons"]) == {"motor", "command", "inter"}
    tree = numbers["tree"]
    assert tree["held_out_ticks"] == 18 and tree["fit_ticks"] == 42
    assert 0.0 <= tree["fidelity_held_out"] <= 1.0
    assert "|---" in tree["rules"]
    assert set(numbers["saliency"]) == {"gradient", "visualbackprop", "occlusion"}
    for name, method in numbers["saliency"].items():
        assert method["frames"] == [0, 5, 30, 40, 59]
        if name == "occlusion":  # the bag's frames are uniform: hiding a patch changes nothing
            assert method["summary"]["zero_frames"] == 3
            continue
        assert sum(method["summary"]["bands"][b] for b in ("top", "middle", "bottom")) == (
            pytest.approx(1.0)
        )
    assert set(numbers["policy_vs_recorded_rms"]) == {"left_wheel", "right_wheel"}
    printed = capsys.readouterr().out
    assert "fidelity" in printed and str(out / "report.html") in printed


def test_an_artifact_is_audited_by_occlusion_without_torch_methods(files):
    folder, bag = files
    out = folder / "report_npz"
    argv = ["explain", "--model", str(folder / "policy.npz"), "--bag", str(bag), "--out",
            str(out), "--rate", "20", "--summary-frames", "2", "--tree-depth", "2",
            "--tree-features", "imu.*"]  # fmt: skip
    assert main(argv) == 0
    numbers = json.loads((out / "explanation.json").read_text())
    assert set(numbers["saliency"]) == {"occlusion"}
    assert any("need the torch checkpoint" in note for note in numbers["notes"])
    assert all(name.startswith("imu.") for name in numbers["tree"]["features"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--topics", "lidar:=/scan"], "--topics"),
        (["--tree-features", "nothing*"], "tree features"),
        (["--topics", "camera:=/front/image"], "/front/image"),
    ],
)
def test_bad_input_is_an_error_naming_it(files, capsys, extra, message):
    folder, bag = files
    argv = ["explain", "--model", str(folder / "policy.npz"), "--bag", str(bag), "--out",
            str(folder / "bad"), "--rate", "20", *extra]  # fmt: skip
    assert main(argv) == 1
    assert message in capsys.readouterr().err
