r"""The policy core over a window, as training runs it: a fused path for the wired CfC.

:func:`run_core` returns what stepping ``core.step`` through the window returns
(state zeroed where an episode starts), for any core. For the NCP-wired CfC
(:class:`~liquid_controller.models.cells.WiredCfCCell`, modes ``default`` and
``no_gate``, no mixed memory, no projection) it computes the same maths with far
fewer operations, which is what makes training fast on a CPU:

- each layer's four heads (``ff1``, ``ff2``, ``time_a``, ``time_b``) are one
  matrix, masked by the wiring once per window instead of twice per step;
- the first layer's input part of that product is one matrix product over all
  ``B * W`` steps before the loop (its inputs do not depend on the state);
- the recurrence runs in :class:`WiredCfCWindow`, an autograd function with a
  hand-written backward pass through time: the forward records no graph, the
  backward does per step only the elementwise chain rule and two small products,
  and the weight gradients are one matrix product per layer over all steps.

Per layer ``l`` with ``n`` neurons, state ``h`` and input ``x`` (the features for
layer 0, layer ``l - 1``'s new state otherwise)::

    [p1, p2, a, b] = [x, h] @ W.T + c
    f1, f2 = tanh(p1), tanh(p2);  g = sigmoid(a * dt + b)
    default: h' = f1 + g (f2 - f1)        no_gate: h' = f1 + g f2

Backward, for ``e = dL/dh'``: ``dp1 = e (1 - g) (1 - f1^2)`` (``no_gate``: ``e (1 - f1^2)``),
``dp2 = e g (1 - f2^2)``, ``db = e (f2 - f1) g (1 - g)`` (``no_gate``: ``e f2 g (1 - g)``),
``da = db dt``; then ``d[x, h] = dp @ W``. ``test/train/test_core_sequence.py``
checks values and every gradient against autograd through the step loop (float64).
"""

from __future__ import annotations

from typing import Any, cast

import torch

from liquid_controller.models.cells import CfCCell, WiredCfCCell
from liquid_controller.models.sequence import LiquidRNN

__all__ = ["WiredCfCWindow", "fused_wired_cfc", "run_core"]


def fused_wired_cfc(core: Any) -> WiredCfCCell | None:
    """Return the core's wired CfC cell if the fused path computes it, else ``None``."""
    if not isinstance(core, LiquidRNN) or core.lstm is not None:
        return None
    cell = core.rnn_cell
    if not isinstance(cell, WiredCfCCell) or cell.mode == "pure":
        return None
    if not isinstance(core.fc, torch.nn.Identity):
        return None
    return cell


def _layer_weights(layer: CfCCell) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W, c)`` of the four heads stacked: ``W`` is ``(4 n, inputs + n)``, masked."""
    assert layer.ff2 is not None and layer.time_a is not None and layer.time_b is not None
    mask = layer.sparsity_mask
    w1, w2 = layer.ff1.weight, layer.ff2.weight
    if mask is not None:
        w1, w2 = w1 * mask, w2 * mask
    weight = torch.cat([w1, w2, layer.time_a.weight, layer.time_b.weight], dim=0)
    bias = torch.cat([layer.ff1.bias, layer.ff2.bias, layer.time_a.bias, layer.time_b.bias])
    return weight, bias


class WiredCfCWindow(torch.autograd.Function):
    """The wired CfC recurrence over a window with a hand-written backward (see the module).

    Inputs: ``gated`` (mode ``default``), ``sizes`` (neurons per layer), ``resets``
    (per step: does some row restart there), then tensors: ``pre0`` ``(T, B, 4 n0)``
    (layer 0's input part plus bias), ``dt`` ``(T, B, 1)``, ``keep`` ``(T, B, 1)``
    (0 where a row restarts), ``h0`` ``(B, sum(sizes))``, ``w0h`` ``(4 n0, n0)``
    (layer 0's recurrent part), then ``W_l`` ``(4 n_l, n_{l-1} + n_l)`` and ``c_l``
    for each later layer. Outputs: the last layer's states ``(T, B, n_L)`` and the
    state after the window.

    A step is kept to a few calls, since Python overhead dominates at these sizes: the
    forward keeps each step's ``tanh`` heads, gate and states in lists and stacks them
    once; the backward first forms, for all steps at once, the factors ``J`` of
    ``d pre / d h'`` per head, so that a step is ``dp = e J_t`` and ``d[x, h] = dp @ W``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        gated: bool,
        sizes: tuple[int, ...],
        resets: tuple[bool, ...],
        pre0: torch.Tensor,
        dt: torch.Tensor,
        keep: torch.Tensor,
        h0: torch.Tensor,
        w0h: torch.Tensor,
        *later: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the recurrence without a graph, keeping what the backward pass reads."""
        layers = len(sizes)
        below = [w0h] + [w[:, : sizes[i]].t() for i, w in enumerate(later[0::2])]
        recurrent = [w0h.t()] + [w[:, sizes[i] :].t() for i, w in enumerate(later[0::2])]
        biases = [w0h, *later[1::2]]  # index 0 unused: layer 0's bias is in pre0
        states = list(torch.split(h0, list(sizes), dim=1))
        lists: dict[str, list[list[torch.Tensor]]] = {
            key: [[] for _ in sizes] for key in ("previous", "new", "heads", "gates")
        }
        previous, new, heads, gates = lists.values()
        for t, (pre0_t, dt_t, keep_t) in enumerate(zip(pre0, dt, keep, strict=True)):
            if resets[t]:
                states = [s * keep_t for s in states]
            for index in range(layers):
                n, h = sizes[index], states[index]
                previous[index].append(h)
                if index == 0:
                    pre = torch.addmm(pre0_t, h, recurrent[0])
                else:
                    pre = torch.addmm(biases[index], states[index - 1], below[index])
                    pre.addmm_(h, recurrent[index])
                ff, time_a, time_b = torch.split(pre, [2 * n, n, n], dim=1)
                tanh = torch.tanh(ff)
                f1, f2 = tanh.chunk(2, dim=1)
                g = torch.sigmoid(torch.addcmul(time_b, time_a, dt_t))
                states[index] = torch.lerp(f1, f2, g) if gated else torch.addcmul(f1, g, f2)
                new[index].append(states[index])
                heads[index].append(tanh)
                gates[index].append(g)
        stacked = [torch.stack(rows) for group in lists.values() for rows in group]
        ctx.gated, ctx.sizes, ctx.resets = gated, sizes, resets
        ctx.save_for_backward(dt, keep, w0h, *later, *stacked)
        return stacked[2 * layers - 1], torch.cat(states, dim=1)

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor, d_last: torch.Tensor) -> tuple[Any, ...]:
        """Backpropagate through time; return one gradient (or ``None``) per input."""
        sizes, layers, gated = ctx.sizes, len(ctx.sizes), ctx.gated
        dt, keep, w0h, *rest = ctx.saved_tensors
        later, rest = rest[: 2 * (layers - 1)], rest[2 * (layers - 1) :]
        previous, new, heads, gates = (rest[i * layers : (i + 1) * layers] for i in range(4))
        weights = [w0h, *later[0::2]]
        steps, batch = dt.shape[0], dt.shape[1]
        # Per layer and step, (B, 4, n): d pre / d h' of each head, for all steps at once.
        factors = []
        for index in range(layers):
            f1, f2 = heads[index].chunk(2, dim=2)
            g = gates[index]
            spread = (f2 - f1 if gated else f2) * g * (1 - g)
            first = (1 - f1 * f1) * (1 - g) if gated else 1 - f1 * f1
            stacked = torch.stack([first, (1 - f2 * f2) * g, spread * dt, spread], dim=2)
            factors.append(stacked.unbind(0))
        d_state = list(torch.split(d_last, list(sizes), dim=1))
        d_pre: list[list[torch.Tensor]] = [[] for _ in sizes]
        d_out_steps, keep_steps = d_out.unbind(0), keep.unbind(0)
        for t in range(steps - 1, -1, -1):
            d_state[-1] = d_state[-1] + d_out_steps[t]
            for index in range(layers - 1, -1, -1):
                dp = (factors[index][t] * d_state[index].unsqueeze(1)).reshape(batch, -1)
                d_pre[index].append(dp)
                d_z = dp @ weights[index]
                if index == 0:
                    d_state[0] = d_z
                else:
                    d_in, d_state[index] = d_z.split((sizes[index - 1], sizes[index]), dim=1)
                    d_state[index - 1] = d_state[index - 1] + d_in
            if ctx.resets[t]:
                d_state = [d * keep_steps[t] for d in d_state]
        flat = [torch.stack(rows[::-1]) for rows in d_pre]
        grads: list[Any] = [None, None, None, flat[0], None, None, torch.cat(d_state, dim=1)]
        rows = steps * batch
        grads.append(flat[0].reshape(rows, -1).t() @ previous[0].reshape(rows, -1))
        for index in range(1, layers):
            z = torch.cat([new[index - 1], previous[index]], dim=2).reshape(rows, -1)
            grad = flat[index].reshape(rows, -1)
            grads += [grad.t() @ z, grad.sum(dim=0)]
        return tuple(grads)


def run_core(
    core: Any, features: torch.Tensor, h: torch.Tensor, dt: torch.Tensor, reset: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``core`` over a window; return ``(outputs (B, W, out), state after the window)``.

    Args:
        core: the policy's core (any :func:`rnn_from_config` result).
        features: ``(B, W, input_size)`` core inputs.
        h: ``(B, state_size)`` state before the window.
        dt: ``(B, W)`` seconds per step.
        reset: ``(B, W)`` bool: zero that row's state before this step.
    """
    steps = features.shape[1]
    keep = (~reset).to(features.dtype).unsqueeze(-1)
    resets = tuple(bool(r) for r in reset.any(dim=0).tolist())
    cell = fused_wired_cfc(core)
    if cell is None:
        outputs = []
        for t in range(steps):
            y, h = core.step(features[:, t], h * keep[:, t] if resets[t] else h, dt[:, t])
            outputs.append(y)
        return torch.stack(outputs, dim=1), h
    weights = [_layer_weights(cast(CfCCell, layer)) for layer in cell.layers]
    w0, c0 = weights[0]
    inputs = features.shape[2]
    pre0 = torch.matmul(features.transpose(0, 1), w0[:, :inputs].t()) + c0
    later = [tensor for pair in weights[1:] for tensor in pair]
    outputs, h = WiredCfCWindow.apply(  # type: ignore[no-untyped-call]
        cell.mode == "default",
        tuple(int(n) for n in cell.layer_sizes),
        resets,
        pre0,
        dt.to(features.dtype).transpose(0, 1).unsqueeze(-1).contiguous(),
        keep.transpose(0, 1).contiguous(),
        h,
        w0[:, inputs:].contiguous(),
        *later,
    )
    return outputs.transpose(0, 1), h
