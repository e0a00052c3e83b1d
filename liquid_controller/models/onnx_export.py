"""Export one step of a liquid network to ONNX (for ONNX Runtime, TensorRT, ...).

The graph is :meth:`LiquidRNN.step <liquid_controller.models.sequence.LiquidRNN.step>`:

- inputs ``x`` ``(batch, input_size)``, ``h`` ``(batch, state_size)``,
  ``dt`` ``(batch, 1)`` seconds — all float32, batch dimension dynamic;
- outputs ``y`` ``(batch, output_size)`` and ``h_next`` ``(batch, state_size)``.

The caller carries ``h`` between calls (start from zeros), exactly as with the
torch step API.
"""

from __future__ import annotations

import copy
import os

import torch
from torch import nn

from liquid_controller.models.sequence import LiquidRNN

__all__ = ["ONNX_INPUTS", "ONNX_OUTPUTS", "export_step_onnx"]

ONNX_INPUTS = ("x", "h", "dt")
ONNX_OUTPUTS = ("y", "h_next")


class _Step(nn.Module):
    """Expose ``model.step`` as ``forward`` (the exporter traces ``forward``)."""

    def __init__(self, model: LiquidRNN) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.step(x, h, dt)


def export_step_onnx(model: LiquidRNN, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s single step to ``path`` as an ONNX model (float32, dynamic batch).

    The model is exported in eval mode on the CPU; ``model`` itself is left unchanged.
    """
    module = _Step(copy.deepcopy(model)).to("cpu", torch.float32).eval()
    batch = torch.export.Dim("batch")
    example = (
        torch.zeros(2, model.input_size),
        torch.zeros(2, model.state_size),
        torch.ones(2, 1),
    )
    torch.onnx.export(
        module,
        example,
        os.fspath(path),
        input_names=list(ONNX_INPUTS),
        output_names=list(ONNX_OUTPUTS),
        dynamo=True,
        dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
        verbose=False,
    )
