"""load_policy dispatches on the file's content; a torch checkpoint runs in the PolicyRunner."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from liquid_controller.control.policy_loading import is_artifact, load_policy
from liquid_controller.control.policy_runner import PolicyRunner, PolicyTickStatus
from liquid_controller.errors import CheckpointError


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_policy(tmp_path / "nope.npz")


def test_garbage_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"definitely not a model")
    assert not is_artifact(path)
    with pytest.raises(CheckpointError, match="junk.bin"):
        load_policy(path)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    import torch

    from liquid_controller.models.checkpoint import save_checkpoint
    from liquid_controller.models.policy import (
        LiquidPolicy,
        default_policy_config,
        default_policy_spec,
    )

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "policy.safetensors"
    save_checkpoint(path, LiquidPolicy(default_policy_config(), default_policy_spec()))
    return path


def test_torch_checkpoint_loads_and_runs_in_the_runner(checkpoint):
    assert not is_artifact(checkpoint)
    policy = load_policy(checkpoint)
    runner = PolicyRunner(policy)
    for k in range(3):
        now = 0.02 * k
        for name in runner.input_names:
            shape = runner.input_shape(name)
            value = np.zeros(shape, np.uint8) if name == "image" else np.full(shape, 0.1)
            assert runner.submit(name, value, stamp_s=now, now_s=now) is None
        tick = runner.tick(now)
        assert tick.status is PolicyTickStatus.STEPPED, tick.error
        assert tick.nominal.shape == (policy.spec.action.size,)
        assert np.all(np.isfinite(tick.nominal))


def test_checkpoint_without_torch_says_how_to_export(checkpoint):
    # A robot without torch: block the import and load the checkpoint in a fresh process.
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["torch"] = None
        from liquid_controller.control.policy_loading import load_policy
        from liquid_controller.errors import CheckpointError
        try:
            load_policy({str(checkpoint)!r})
        except CheckpointError as err:
            print("ERR", err)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ERR" in out.stdout and "needs torch" in out.stdout
    assert "liquid-controller export" in out.stdout
