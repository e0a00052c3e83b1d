"""A :class:`LiquidPolicy` run over a window of steps, as one module (what DDP wraps).

Step ``t`` of the window computes exactly ``policy(image_t, vector_t, h, dt_t)``
(see :mod:`liquid_controller.models.policy`), with ``h`` zeroed first on the rows
where an episode starts (the core runs through
:func:`~liquid_controller.train.core_sequence.run_core`). The camera encoder runs once
over all ``B * W`` frames and the heads once over all core outputs, since neither
carries state. With
BarrierNet end to end, the nominal action passes through
:class:`~liquid_controller.models.barriernet.BarrierNetLayer` with the policy's
gains, the recorded joint state and the previous recorded command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from liquid_controller.models.barriernet import BarrierNetLayer
from liquid_controller.models.policy import LiquidPolicy
from liquid_controller.runtime.spec import MIN_BARRIER_GAIN
from liquid_controller.train.core_sequence import run_core

__all__ = ["WindowModel", "WindowOutput"]


class WindowOutput(NamedTuple):
    """The policy's outputs over a window."""

    action: torch.Tensor
    """``(B, W, A)`` nominal command."""
    filtered: torch.Tensor | None
    """``(B, W, A)`` BarrierNet-filtered command, or ``None`` without the layer."""
    state: torch.Tensor
    """``(B, state_size)`` hidden state after the last step."""


class WindowModel(nn.Module):
    """``policy`` (and optionally ``barrier_layer``) over ``(B, W, ...)`` windows.

    Args:
        policy: the network being trained (its parameters are this module's).
        barrier_layer: the safety QP for BarrierNet end to end, or ``None``.
    """

    def __init__(self, policy: LiquidPolicy, barrier_layer: BarrierNetLayer | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.barrier_layer = barrier_layer

    def forward(
        self,
        image: torch.Tensor | None,
        vector: torch.Tensor,
        h: torch.Tensor,
        dt: torch.Tensor,
        reset: torch.Tensor,
        joint_state: Mapping[str, torch.Tensor] | None = None,
        previous_action: torch.Tensor | None = None,
    ) -> WindowOutput:
        """Run the window.

        Args:
            image: ``(B, W, H, Wi, C)`` uint8 or ``None``.
            vector: ``(B, W, V)`` raw vectors in spec order.
            h: ``(B, state_size)`` state before the window.
            dt: ``(B, W)`` seconds.
            reset: ``(B, W)`` bool, zero the state before this step.
            joint_state: ``(B, W, n)`` tensors for the barrier layer.
            previous_action: ``(B, W, A)`` ``u_prev`` for the barrier layer's rate rows.
        """
        policy = self.policy
        batch, steps = dt.shape
        flat_image = None if image is None else image.reshape(batch * steps, *image.shape[2:])
        features = policy.features(flat_image, vector.reshape(batch * steps, -1))
        core_out, h = run_core(policy.core, features.reshape(batch, steps, -1), h, dt, reset)
        action = policy.action_head(core_out)
        filtered = None
        if self.barrier_layer is not None:
            assert policy.barrier_head is not None
            gains = MIN_BARRIER_GAIN + F.softplus(policy.barrier_head(core_out))
            size = action.shape[-1]
            state = {k: v.reshape(batch * steps, -1) for k, v in (joint_state or {}).items()}
            rate = self.barrier_layer.builder.rate_max is not None
            safe = self.barrier_layer(
                action.reshape(batch * steps, size),
                state or None,
                gains.reshape(batch * steps, -1),
                u_prev=previous_action.reshape(batch * steps, size)
                if rate and previous_action is not None
                else None,
                dt_s=dt.reshape(-1) if rate else None,
            )
            filtered = safe.u.reshape(batch, steps, size)
        return WindowOutput(action, filtered, h)
