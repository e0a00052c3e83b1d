"""An exported artifact is explained (rollout, tree, occlusion, report) without torch."""

from __future__ import annotations

import json
import subprocess
import sys

from explain_fakes import IMAGE, small_policy

from liquid_controller.models.export import export_policy

_SCRIPT = """
import json, sys
class BlockTorch:  # any import of torch now fails, as on a machine without it
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("torch is not installed here")
sys.meta_path.insert(0, BlockTorch())
from pathlib import Path
import numpy as np
from liquid_controller.explain import ExplainEpisode, ExplainOptions, explain, load_explained_model
from liquid_controller.explain.report import write_report
model = load_explained_model(sys.argv[1])
rng = np.random.default_rng(0)
ticks, shape = 10, tuple(json.loads(sys.argv[3]))
episode = ExplainEpisode("random", np.arange(ticks) * 0.05, np.full(ticks, 0.05), {
    "image": rng.integers(0, 256, (ticks, *shape, 3), dtype=np.uint8),
    "imu": rng.normal(size=(ticks, 6)),
})
result = explain(model, [episode], options=ExplainOptions(frames=(3,), summary_frames=2))
write_report(Path(sys.argv[2]), result)
peak = float(result.saliency["occlusion"][3].max())
torch = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
print(json.dumps({"torch": torch, "methods": sorted(result.saliency), "peak": peak}))
"""


def test_an_artifact_is_explained_without_torch(tmp_path):
    export_policy(small_policy(), tmp_path / "policy.npz")
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "policy.npz"), str(tmp_path / "report"),
         json.dumps(IMAGE)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["torch"] == []
    assert report["methods"] == ["occlusion"] and report["peak"] > 0
    assert (tmp_path / "report" / "report.html").is_file()
