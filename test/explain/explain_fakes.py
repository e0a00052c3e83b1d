"""Small policies and episodes for the explain tests (imported by them; not a conftest)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from liquid_controller.explain.episode import ExplainEpisode  # noqa: E402
from liquid_controller.models.policy import LiquidPolicy, default_policy_spec  # noqa: E402
from liquid_controller.runtime.spec import ImageInput  # noqa: E402

IMAGE = (12, 20)


def small_spec(*, camera: bool = True):
    spec = default_policy_spec(camera=False)
    if not camera:
        return spec
    return type(spec)(action=spec.action, vectors=spec.vectors, image=ImageInput(*IMAGE, 3))


def small_config(cell: str = "cfc", seed: int = 3) -> dict:
    core = {
        "cell": cell,
        "wiring": {
            "type": "AutoNCP",
            "args": {"units": 9, "output_size": 2, "sparsity_level": 0.5, "seed": seed},
        },
    }
    return {
        "image_encoder": {
            "conv_layers": [[4, 3, 2], [5, 3, 1]],
            "features": 4,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.25, 0.25, 0.25],
        },
        "core": core,
    }


def small_policy(*, cell: str = "cfc", camera: bool = True, seed: int = 0) -> LiquidPolicy:
    torch.manual_seed(seed)
    return LiquidPolicy(small_config(cell), small_spec(camera=camera)).double().eval()


def random_episode(ticks: int = 12, *, camera: bool = True, seed: int = 0) -> ExplainEpisode:
    rng = np.random.default_rng(seed)
    observations = {"imu": rng.normal([0, 0, 9.81, 0, 0, 0], 1.0, size=(ticks, 6))}
    if camera:
        observations["image"] = rng.integers(0, 256, size=(ticks, *IMAGE, 3), dtype=np.uint8)
    t_s = np.arange(ticks) * 0.05
    return ExplainEpisode("random", t_s, np.full(ticks, 0.05), observations)
