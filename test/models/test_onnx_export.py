from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from liquid_controller.models.onnx_export import ONNX_INPUTS, export_step_onnx
from liquid_controller.models.sequence import LTC, CfC
from liquid_controller.models.wiring import AutoNCP


@pytest.mark.parametrize(
    "make",
    [
        lambda: CfC(6, AutoNCP(10, 2, seed=1), mixed_memory=True, proj_size=3),
        lambda: CfC(6, 5, mode="pure", backbone_units=8),
        lambda: LTC(6, AutoNCP(10, 2, seed=2), ode_unfolds=4),
    ],
    ids=["wired_cfc_mixed_proj", "dense_cfc_pure", "ltc"],
)
def test_onnx_step_matches_torch_over_a_rollout(make, tmp_path):
    torch.manual_seed(0)
    model = make().train()
    path = tmp_path / "step.onnx"
    export_step_onnx(model, path)
    assert model.training  # the caller's model is not switched to eval
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(ONNX_INPUTS)
    batch = 3  # the example batch was 2: the batch axis is dynamic
    gen = torch.Generator().manual_seed(1)
    h_torch = model.initial_state(batch)
    h_onnx = h_torch.numpy().copy()
    for _ in range(10):
        x = torch.randn(batch, 6, generator=gen)
        dt = 0.01 + torch.rand(batch, 1, generator=gen)
        with torch.no_grad():
            y_torch, h_torch = model.step(x, h_torch, dt)
        y_onnx, h_onnx = session.run(None, {"x": x.numpy(), "h": h_onnx, "dt": dt.numpy()})
        np.testing.assert_allclose(y_onnx, y_torch.numpy(), rtol=0, atol=1e-5)
        np.testing.assert_allclose(h_onnx, h_torch.numpy(), rtol=0, atol=1e-5)
