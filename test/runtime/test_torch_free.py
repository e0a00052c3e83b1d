"""The runtime path never imports torch: checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from liquid_controller.models.export import export_core, export_policy
from liquid_controller.models.policy import LiquidPolicy, default_policy_config, default_policy_spec
from liquid_controller.models.sequence import LTC
from liquid_controller.models.wiring import AutoNCP

_SCRIPT = """
import json, sys
import numpy as np
from liquid_controller.runtime import RuntimePolicy, load_core
policy = RuntimePolicy.load(sys.argv[1])
spec = policy.spec
obs = {"image": np.zeros((66, 200, 3), np.uint8), "imu": np.zeros(6)}
actions = [policy.step(obs, 0.05).action.tolist() for _ in range(3)]
core = load_core(sys.argv[2])
core.step(np.ones(4), 0.1)
print(json.dumps({"torch": sorted(m for m in sys.modules if m.split(".")[0] == "torch"),
                  "ncps": "ncps" in sys.modules, "actions": actions}))
"""


def test_runtime_steps_without_importing_torch(tmp_path) -> None:
    torch.manual_seed(0)
    policy = LiquidPolicy(default_policy_config(), default_policy_spec(camera=True))
    export_policy(policy, tmp_path / "policy.npz")
    export_core(LTC(4, AutoNCP(8, 2, seed=0)), tmp_path / "core.npz")
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "policy.npz"), str(tmp_path / "core.npz")],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["torch"] == []
    assert report["ncps"] is False
    assert len(report["actions"]) == 3
