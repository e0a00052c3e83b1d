"""Fused numpy CfC step (dense with backbone, or wired with one CfC layer per NCP layer).

Computes exactly what ncps 1.0.1's ``CfC`` (and ``liquid_controller.models``'
CfC, which keeps its parameter names) computes for one time step of batch 1:

- ``x = [input | h]`` (per layer for wired models), optional backbone
  ``act(Linear(x))`` layers;
- ``ff1, ff2 = tanh(Linear(x))`` (masked by the wiring's sparsity in wired
  models), ``t = sigmoid(time_a(x) * dt + time_b(x))``;
- ``default``: ``h' = ff1 * (1 - t) + t * ff2``; ``no_gate``: ``h' = ff1 + t * ff2``;
  ``pure``: ``h' = -A * exp(-dt * (|w_tau| + |ff1|)) * ff1 + A`` (``ff1`` linear);
- optional ``mixed_memory`` LSTM before the cell and ``proj_size`` output layer.

What is fused at load time: masks multiplied into weights; ``ff1/ff2/time_a/time_b``
stacked into one matrix per layer (one GEMV); the sigmoid's ``1/2`` folded into
the time weights; the gate blend ``h' = s + tanh(u) * d`` written as one small
matrix product for ``(s, d)``; activation scales folded into neighbouring
weights. The state lives in one buffer ``[x | h_0 | h_1 | ...]`` laid out so each
layer reads a contiguous slice: layer ``l`` reads ``[h_{l-1} (new) | h_l (old)]``
and then overwrites ``h_l`` in place.

Artifact arrays (prefix ``core.``), ``L`` layers (dense models have ``L = 1``):
``cell.layer{l}.ff1.weight/.bias``, ``.ff2.*``, ``.time_a.*``, ``.time_b.*``
(modes ``default``/``no_gate``), ``cell.layer{l}.w_tau`` and ``.A`` (mode
``pure``), ``cell.layer{l}.sparsity_mask`` (wired), ``cell.backbone{i}.weight/.bias``
(dense), ``lstm.input_map.weight/.bias``, ``lstm.recurrent_map.weight``
(mixed memory), ``fc.weight/.bias`` (proj_size).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.artifact import Artifact
from liquid_controller.runtime.config import (
    read_bool,
    read_choice,
    read_int,
    read_int_list,
)
from liquid_controller.runtime.layers import LSTMMemory, MemoryMixin, activation

__all__ = ["CFC_MODES", "CfCRuntime"]

Array = npt.NDArray[Any]
CFC_MODES = ("default", "pure", "no_gate")


class _Layer:
    """One CfC layer's fused weights and its preallocated views."""

    def __init__(
        self,
        weight: Array,
        bias: Array,
        mode: str,
        units: int,
        pure_tau: Array | None,
        pure_a: Array | None,
        dtype: npt.DTypeLike,
    ) -> None:
        n = units
        self.mode = mode
        self.weight = np.ascontiguousarray(weight, dtype=dtype)
        self.bias = np.ascontiguousarray(bias, dtype=dtype)
        self.pre = np.zeros(self.weight.shape[0], dtype=dtype)
        if mode == "pure":
            assert pure_tau is not None and pure_a is not None
            self.abs_tau = np.ascontiguousarray(np.abs(pure_tau), dtype=dtype)
            self.a = np.ascontiguousarray(pure_a, dtype=dtype)
            self.neg_a = np.ascontiguousarray(-pure_a, dtype=dtype)
            self.tmp = np.zeros(n, dtype=dtype)
        else:
            pre = self.pre
            self.ff, self.time_a, self.time_b = pre[: 2 * n], pre[2 * n : 3 * n], pre[3 * n :]
            self.ff_and_gate = pre[: 3 * n]
            eye = np.eye(n)
            if mode == "default":
                # h' = ff1 + t (ff2 - ff1), t = (1 + tanh u) / 2
                #    = (ff1 + ff2) / 2 + tanh(u) * (ff2 - ff1) / 2
                blend = np.block([[eye, eye], [-eye, eye]]) * 0.5
            else:
                # h' = ff1 + t ff2 = (ff1 + ff2 / 2) + tanh(u) * ff2 / 2
                blend = np.block([[eye, 0.5 * eye], [0 * eye, 0.5 * eye]])
            self.blend = np.ascontiguousarray(blend, dtype=dtype)
            self.sd = np.zeros(2 * n, dtype=dtype)
            self.s, self.d = self.sd[:n], self.sd[n:]


class CfCRuntime(MemoryMixin):
    """A CfC network stepped one sample at a time with numpy only.

    Args:
        artifact: the loaded artifact holding the arrays.
        config: the core's config section (see :meth:`from_config`).
        prefix: array-name prefix, e.g. ``"core."``.
        dtype: compute dtype (float64 by default; float32 halves memory traffic).

    Raises:
        CheckpointError: a config key or array is missing or has the wrong shape.
    """

    def __init__(
        self,
        artifact: Artifact,
        config: Mapping[str, Any],
        prefix: str = "core.",
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        where = prefix.rstrip(".")
        self.dtype = np.dtype(dtype)
        self.input_size = read_int(config, "input_size", where, minimum=1)
        self.mode = read_choice(config, "mode", where, CFC_MODES)
        self.wired = read_bool(config, "wired", where)
        self.mixed_memory = read_bool(config, "mixed_memory", where, default=False)
        proj = config.get("proj_size")
        self.proj_size = None if proj is None else read_int(config, "proj_size", where, minimum=1)
        if self.wired:
            layer_sizes = read_int_list(config, "layer_sizes", where)
            backbone_units, backbone_layers = 0, 0
            act = activation("lecun_tanh")
        else:
            layer_sizes = [read_int(config, "units", where, minimum=1)]
            backbone_layers = read_int(config, "backbone_layers", where, default=1)
            backbone_units = read_int(config, "backbone_units", where, minimum=1, default=128)
            act = activation(
                read_choice(
                    config,
                    "activation",
                    where,
                    ("lecun_tanh", "tanh", "relu", "silu", "gelu"),
                    default="lecun_tanh",
                )
            )
        self.layer_sizes = tuple(layer_sizes)
        self.state_size = sum(layer_sizes)
        self._activation = act
        n_in, n_state = self.input_size, self.state_size
        dt = self.dtype

        self._buffer = np.zeros(n_in + n_state, dtype=dt)
        self._x = self._buffer[:n_in]
        self._h = self._buffer[n_in:]

        # Backbone (dense only): Linear + activation, activation scales folded.
        self._backbone: list[tuple[Array, Array, Array]] = []
        width, outer = n_in + n_state, 1.0
        for i in range(backbone_layers):
            w = artifact.array(f"{prefix}cell.backbone{i}.weight", (backbone_units, width))
            b = artifact.array(f"{prefix}cell.backbone{i}.bias", (backbone_units,))
            w = w * (outer * act.inner)
            self._backbone.append(
                (
                    np.ascontiguousarray(w, dtype=dt),
                    np.ascontiguousarray(b * act.inner, dtype=dt),
                    np.zeros(backbone_units, dtype=dt),
                )
            )
            width, outer = backbone_units, act.outer

        # CfC layers.
        self._layers: list[_Layer] = []
        # (layer, input view, output view) in evaluation order; views are fixed at load.
        self._plan: list[tuple[_Layer, Array, Array]] = []
        offset = n_in
        for index, n in enumerate(layer_sizes):
            name = f"{prefix}cell.layer{index}"
            if self.wired:
                fan_in = n_in if index == 0 else layer_sizes[index - 1]
                start = 0 if index == 0 else offset - fan_in
                inputs = self._buffer[start : offset + n]
                cols = fan_in + n
            else:
                inputs = self._backbone[-1][2] if self._backbone else self._buffer
                cols = width
            mask = (
                np.abs(artifact.array(f"{name}.sparsity_mask", (n, cols)))
                if self.wired
                else np.ones((n, cols))
            )
            ff1_w = artifact.array(f"{name}.ff1.weight", (n, cols)) * mask * outer
            ff1_b = artifact.array(f"{name}.ff1.bias", (n,))
            if self.mode == "pure":
                tau = artifact.array(f"{name}.w_tau", (1, n))[0]
                amp = artifact.array(f"{name}.A", (1, n))[0]
                layer = _Layer(ff1_w, ff1_b, "pure", n, tau, amp, dt)
            else:
                blocks_w = [ff1_w, artifact.array(f"{name}.ff2.weight", (n, cols)) * mask * outer]
                blocks_b = [ff1_b, artifact.array(f"{name}.ff2.bias", (n,))]
                for gate in ("time_a", "time_b"):
                    blocks_w.append(
                        artifact.array(f"{name}.{gate}.weight", (n, cols)) * 0.5 * outer
                    )
                    blocks_b.append(artifact.array(f"{name}.{gate}.bias", (n,)) * 0.5)
                layer = _Layer(
                    np.concatenate(blocks_w), np.concatenate(blocks_b), self.mode, n, None, None, dt
                )
            self._layers.append(layer)
            self._plan.append((layer, inputs, self._buffer[offset : offset + n]))
            offset += n

        self._lstm: LSTMMemory | None = None
        if self.mixed_memory:
            self._lstm = LSTMMemory(
                artifact.array(f"{prefix}lstm.input_map.weight", (4 * n_state, n_in)),
                artifact.array(f"{prefix}lstm.input_map.bias", (4 * n_state,)),
                artifact.array(f"{prefix}lstm.recurrent_map.weight", (4 * n_state, n_state)),
                dt,
            )

        self._readout = self._h[n_state - layer_sizes[-1] :] if self.wired else self._h
        self._fc: tuple[Array, Array] | None = None
        if self.proj_size is not None:
            fc_w = artifact.array(f"{prefix}fc.weight", (self.proj_size, self._readout.shape[0]))
            fc_b = artifact.array(f"{prefix}fc.bias", (self.proj_size,))
            self._fc = (np.ascontiguousarray(fc_w, dtype=dt), np.ascontiguousarray(fc_b, dtype=dt))
            self._y = np.zeros(self.proj_size, dtype=dt)
        self.output_size = self.proj_size if self.proj_size is not None else self._readout.shape[0]

        # Wired states are ordered by layer; activity is reported in neuron-id order.
        ids = config.get("state_neuron_ids")
        if ids is None:
            ids = list(range(n_state))
        if (
            not isinstance(ids, list)
            or not all(type(i) is int for i in ids)
            or sorted(ids) != list(range(n_state))
        ):
            raise CheckpointError(
                f"artifact config: '{where}.state_neuron_ids' is {str(ids)[:80]}; "
                f"expected a permutation of 0..{n_state - 1}"
            )
        self._activity_order = np.argsort(np.asarray(ids, dtype=np.intp))

    @property
    def state(self) -> Array:
        """The hidden state (activity of every neuron), a live view; copy it to keep it."""
        return self._h

    @property
    def activity(self) -> Array:
        """Every neuron's state in neuron-id order (a new array)."""
        return self._h[self._activity_order]

    def reset(self) -> None:
        """Zero the hidden state (and the LSTM memory)."""
        self._buffer.fill(0.0)
        self._reset_memory()

    def step(self, x: npt.ArrayLike, dt_s: float) -> Array:
        """Advance by ``dt_s`` seconds with input ``x``; return the output.

        The returned array is an internal buffer, overwritten by the next step.
        """
        self._x[...] = x
        if self._lstm is not None:
            self._lstm.step(self._buffer, self._h)
        features = self._buffer
        for weight, bias, out in self._backbone:
            np.dot(weight, features, out=out)
            out += bias
            self._activation.apply(out)
            features = out
        for layer, inputs, h_out in self._plan:
            self._layer_step(layer, inputs, dt_s, h_out)
        if self._fc is None:
            return self._readout
        np.dot(self._fc[0], self._readout, out=self._y)
        self._y += self._fc[1]
        return self._y

    @staticmethod
    def _layer_step(layer: _Layer, inputs: Array, dt_s: float, h_out: Array) -> None:
        pre = layer.pre
        np.dot(layer.weight, inputs, out=pre)
        pre += layer.bias
        if layer.mode == "pure":
            tmp = layer.tmp
            np.abs(pre, out=tmp)
            tmp += layer.abs_tau
            tmp *= -dt_s
            np.exp(tmp, out=tmp)
            tmp *= pre
            tmp *= layer.neg_a
            np.add(tmp, layer.a, out=h_out)
            return
        time_a = layer.time_a
        time_a *= dt_s
        time_a += layer.time_b
        np.tanh(layer.ff_and_gate, out=layer.ff_and_gate)
        np.dot(layer.blend, layer.ff, out=layer.sd)
        d = layer.d
        d *= time_a  # after the tanh this slice holds tanh(u), the time gate
        np.add(layer.s, d, out=h_out)
