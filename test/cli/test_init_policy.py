from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from liquid_controller.cli import main
from liquid_controller.models.checkpoint import load_checkpoint
from liquid_controller.models.policy import TorchPolicy


def test_writes_a_loadable_untrained_camera_policy(tmp_path, capsys):
    out = tmp_path / "policy.safetensors"
    assert main(["init-policy", "--out", str(out), "--seed", "5"]) == 0
    assert "untrained" in capsys.readouterr().out
    loaded = load_checkpoint(out)
    assert loaded.metadata["trained"] is False
    assert loaded.spec.image is not None and loaded.spec.barrier_params == 0
    assert loaded.config["core"]["cell"] == "cfc"
    assert loaded.config["core"]["wiring"]["args"]["seed"] == 5
    policy = TorchPolicy(loaded.policy)
    obs = {"imu": np.zeros(6), "image": np.zeros((66, 200, 3), dtype=np.uint8)}
    assert policy.step(obs, 0.05).action.shape == (2,)


def test_seed_makes_it_reproducible_and_options_apply(tmp_path):
    paths = [tmp_path / f"{name}.safetensors" for name in ("a", "b", "c")]
    common = ["--cell", "ltc", "--no-camera", "--barrier-params", "3"]
    assert main(["init-policy", "--out", str(paths[0]), "--seed", "1", *common]) == 0
    assert main(["init-policy", "--out", str(paths[1]), "--seed", "1", *common]) == 0
    assert main(["init-policy", "--out", str(paths[2]), "--seed", "2", *common]) == 0
    a, b, c = (load_checkpoint(p).policy for p in paths)
    assert a.spec.image is None and a.spec.barrier_params == 3
    assert a.get_config()["core"]["cell"] == "ltc"
    for name, tensor in a.state_dict().items():
        assert (tensor == b.state_dict()[name]).all(), name
    assert any((t != c.state_dict()[n]).any() for n, t in a.state_dict().items())


def test_bad_arguments(tmp_path, capsys):
    assert main(["init-policy", "--out", str(tmp_path / "x"), "--barrier-params", "-1"]) == 1
    assert "--barrier-params" in capsys.readouterr().err
    assert main(["init-policy", "--out", str(tmp_path / "no-dir" / "x")]) == 1
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["init-policy", "--out", str(tmp_path / "x"), "--cell", "gru"])


def test_help_says_untrained_and_does_not_import_torch():
    code = (
        "import sys\n"
        "from liquid_controller.cli import main\n"
        "try:\n"
        "    main(['init-policy', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.exit(3 if 'torch' in sys.modules else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "UNTRAINED" in result.stdout
