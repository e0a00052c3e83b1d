"""Baseline cores for fair comparison with the liquid ones: an LSTM and a memoryless MLP.

Both have the interface of :class:`~liquid_controller.models.sequence.LiquidRNN`
(``step``, ``forward``, ``initial_state``, ``activity``, ``get_config`` and the
``input_size`` / ``units`` / ``state_size`` / ``output_size`` attributes), so a
:class:`~liquid_controller.models.policy.LiquidPolicy` built with
``core.cell: "lstm"`` or ``"feedforward"`` keeps the same camera encoder, heads,
checkpoints, export and runtime. Neither reads ``dt``: that is what they are
baselines for.

LSTM (``torch.nn.LSTMCell``, gates ``i, f, g, o``; ``z = W_ih x + b_ih + W_hh h + b_hh``)::

    c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = sigmoid(o) * tanh(c');  y = h'

State ``[h | c]`` (``2 * units`` wide); activity ``h``. Parameter names
``rnn_cell.weight_ih``, ``rnn_cell.weight_hh``, ``rnn_cell.bias_ih``, ``rnn_cell.bias_hh``.

Feed-forward (``layers`` hidden layers of ``units``, ``tanh``)::

    y = tanh(W_k ... tanh(W_1 x + b_1) ... + b_k)

The state holds the last step's output so that it is reported as activity;
it is never read back (no memory). Parameter names ``rnn_cell.<2i>.weight/bias``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from liquid_controller.errors import ConfigError

__all__ = ["BASELINE_CELLS", "FeedForwardCore", "LSTMCore", "baseline_from_config"]

BASELINE_CELLS = ("lstm", "feedforward")


def _check_count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(key, value, "an integer >= 1")
    return int(value)


class _BaselineCore(nn.Module):
    """What both baselines share: sizes, reset state, sequence loop over :meth:`step`."""

    dtype_probe: torch.Tensor

    def __init__(self, input_size: int, units: int, state_size: int) -> None:
        super().__init__()
        self.input_size = _check_count("input_size", input_size)
        self.units = _check_count("units", units)
        self.state_size = state_size
        self.output_size = self.units
        self.register_buffer("dtype_probe", torch.zeros(0), persistent=False)

    def initial_state(self, batch: int) -> torch.Tensor:
        """Return the reset state: zeros of shape ``(batch, state_size)``."""
        like = self.dtype_probe
        return torch.zeros(batch, self.state_size, dtype=like.dtype, device=like.device)

    def activity(self, h: torch.Tensor) -> torch.Tensor:
        """Return every unit's activity, shape ``(..., units)``."""
        return h[..., : self.units]

    def step(
        self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step (``dt`` is accepted for the interface and ignored)."""
        if x.dim() != 2 or x.size(1) != self.input_size:
            raise ValueError(f"step: 'x' must have shape (batch, {self.input_size}), got {x.shape}")
        if h.dim() != 2 or h.size(0) != x.size(0) or h.size(1) != self.state_size:
            raise ValueError(
                f"step: 'h' must have shape (batch, {self.state_size}) with the batch of 'x', "
                f"got {h.shape}"
            )
        return self._step(x, h)

    def _step(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(
        self,
        x: torch.Tensor,
        hx: torch.Tensor | None = None,
        timespans: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run a batch-first sequence ``(batch, time, features)``; return ``(y, h_last)``."""
        if x.dim() != 3:
            raise ValueError(f"forward: 'x' must be (batch, time, features), got {x.shape}")
        h = self.initial_state(x.size(0)) if hx is None else hx
        outputs = []
        for t in range(x.size(1)):
            y, h = self._step(x[:, t], h)
            outputs.append(y)
        return torch.stack(outputs, dim=1), h


class LSTMCore(_BaselineCore):
    """An LSTM core (``torch.nn.LSTMCell``) of ``units`` cells.

    Args:
        input_size: number of input features.
        units: number of LSTM cells (state ``2 * units``: ``[h | c]``).
    """

    def __init__(self, input_size: int, units: int) -> None:
        super().__init__(input_size, units, 2 * _check_count("units", units))
        self.rnn_cell = nn.LSTMCell(self.input_size, self.units)

    def _step(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h_next, c_next = self.rnn_cell(x, (h[:, : self.units], h[:, self.units :]))
        return h_next, torch.cat([h_next, c_next], dim=1)

    def get_config(self) -> dict[str, Any]:
        """Return the JSON-able constructor description."""
        return {"cell": "lstm", "input_size": self.input_size, "units": self.units}


class FeedForwardCore(_BaselineCore):
    """A memoryless core: ``layers`` tanh layers of ``units``.

    Args:
        input_size: number of input features.
        units: width of every hidden layer (and of the output).
        layers: number of hidden layers.
    """

    def __init__(self, input_size: int, units: int, layers: int = 2) -> None:
        super().__init__(input_size, units, _check_count("units", units))
        self.layers = _check_count("layers", layers)
        modules: list[nn.Module] = []
        width = self.input_size
        for _ in range(self.layers):
            modules += [nn.Linear(width, self.units), nn.Tanh()]
            width = self.units
        self.rnn_cell = nn.Sequential(*modules)

    def _step(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y: torch.Tensor = self.rnn_cell(x)
        return y, y

    def get_config(self) -> dict[str, Any]:
        """Return the JSON-able constructor description."""
        return {
            "cell": "feedforward",
            "input_size": self.input_size,
            "units": self.units,
            "layers": self.layers,
        }


def baseline_from_config(kind: str, config: dict[str, Any]) -> LSTMCore | FeedForwardCore:
    """Build the ``kind`` baseline (``"lstm"`` or ``"feedforward"``) from its config keys.

    Raises:
        ConfigError: ``kind`` is unknown, or a key is missing, unknown or invalid.
    """
    classes: dict[str, type[LSTMCore] | type[FeedForwardCore]] = {
        "lstm": LSTMCore,
        "feedforward": FeedForwardCore,
    }
    if kind not in classes:
        raise ConfigError("cell", kind, f"one of {list(BASELINE_CELLS)}")
    if "wiring" in config:
        raise ConfigError("wiring", "a wiring", f"absent: the {kind} baseline takes 'units'")
    try:
        return classes[kind](**config)
    except TypeError as err:
        raise ConfigError("rnn", sorted(config), f"arguments of {kind} ({err})") from None
