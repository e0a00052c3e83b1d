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


def test_a_damaged_npz_is_reported_as_an_artifact_not_a_checkpoint(tmp_path):
    damaged = tmp_path / "policy.npz"
    damaged.write_bytes(b"PK\x03\x04 truncated archive")
    assert is_artifact(damaged)
    with pytest.raises(
        CheckpointError, match=r"not a liquid_controller artifact \(not an \.npz archive\)"
    ) as info:
        load_policy(damaged)
    assert "safetensors" not in str(info.value)
    assert str(damaged) in str(info.value)


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


@pytest.fixture(scope="module")
def artifact(checkpoint, tmp_path_factory):
    from liquid_controller.models.export import export_checkpoint

    path = tmp_path_factory.mktemp("artifact") / "policy.npz"
    export_checkpoint(checkpoint, path)
    return path


def rollout(policy, steps: int = 20) -> list[np.ndarray]:
    """Feed the runner seeded inputs with irregular stamps; return the nominals."""
    rng = np.random.default_rng(3)
    runner = PolicyRunner(policy)
    now, nominals = 0.0, []
    for _ in range(steps):
        now += float(rng.uniform(0.005, 0.05))
        for name in runner.input_names:
            shape = runner.input_shape(name)
            if name == "image":
                value = rng.integers(0, 256, shape, dtype=np.uint8)
            else:
                value = rng.normal(size=shape)
            runner.submit(name, value, stamp_s=now, now_s=now)
        tick = runner.tick(now)
        assert tick.status is PolicyTickStatus.STEPPED, tick.error
        nominals.append(tick.nominal)
    return nominals


def test_artifact_and_checkpoint_give_the_same_commands_through_the_runner(checkpoint, artifact):
    assert is_artifact(artifact)
    torch_nominals = rollout(load_policy(checkpoint))
    runtime_nominals = rollout(load_policy(artifact))
    np.testing.assert_allclose(runtime_nominals, torch_nominals, atol=1e-5, rtol=0)


def test_artifact_runs_without_importing_torch(artifact):
    code = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from liquid_controller.control import PolicyRunner
        from liquid_controller.control.policy_loading import load_policy
        runner = PolicyRunner(load_policy({str(artifact)!r}))
        for name in runner.input_names:
            shape = runner.input_shape(name)
            value = np.zeros(shape, np.uint8) if name == "image" else np.zeros(shape)
            runner.submit(name, value, stamp_s=0.0, now_s=0.0)
        tick = runner.tick(0.0)
        print(tick.status.value, "torch" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["stepped", "False"]


def test_shipped_default_policy_runs_in_the_pipeline_with_the_shipped_safety_config():
    from pathlib import Path

    from liquid_controller.control import (
        CommandGuard,
        ControlPipeline,
        SafetyRunner,
    )
    from liquid_controller.safety.filter import SafetyFilter

    root = Path(__file__).resolve().parents[2]
    safety_filter = SafetyFilter.from_yaml(root / "config" / "safety.yaml")
    pipeline = ControlPipeline(
        PolicyRunner(load_policy(root / "resource" / "default_policy.npz")),
        SafetyRunner(safety_filter, CommandGuard.from_config(safety_filter.config)),
    )
    rng = np.random.default_rng(1)
    for k in range(10):
        now = 0.02 * k
        for name in pipeline.policy.input_names:
            shape = pipeline.policy.input_shape(name)
            if name == "image":
                value = rng.integers(0, 256, shape, dtype=np.uint8)
            else:
                value = rng.normal(size=shape)
            pipeline.policy.submit(name, value, stamp_s=now, now_s=now)
        # the shipped config has a wheel-speed barrier: without a joint state it falls back
        pipeline.safety.submit_joint_state([0.0, 0.0], [1.0, -1.0], stamp_s=now, now_s=now)
        out = pipeline.tick(now)
        assert out.policy.status is PolicyTickStatus.STEPPED, out.policy.error
        assert not out.safety.fallback, out.safety.reason
        assert np.all(np.abs(out.safety.command) <= 2.0)
