"""One sequence and single-step wrapper for every liquid cell: LiquidRNN, CfC, LTC.

One wrapper serves every cell of :mod:`liquid_controller.models.cells` (ncps
keeps two near-copies). It adds, in this order per step:

1. the optional LSTM memory cell (``mixed_memory``, ncps's ``LSTMCell``,
   parameters ``lstm.input_map``, ``lstm.recurrent_map``): updates ``(h, c)``
   from the input before the liquid cell runs;
2. the liquid cell ``rnn_cell(x, h, dt) -> (y, h)``;
3. the output projection ``fc`` (``nn.Linear`` when ``proj_size`` is set,
   otherwise the identity).

State is one tensor, shape ``(batch, state_size)``: the liquid neurons'
states in the cell's layout (see ``rnn_cell.state_neuron_ids``), followed,
with ``mixed_memory``, by the LSTM memory ``c`` of the same width. (ncps uses
a ``(h, c)`` tuple there; one tensor keeps the step API, TorchScript and ONNX
export uniform.) :meth:`LiquidRNN.activity` returns the neurons' states in
neuron-id order.

State-dict keys equal ncps's ``CfC``/``LTC`` ones (``rnn_cell.*``,
``lstm.*``, ``fc.*``), except the wired CfC's layers (``rnn_cell.layers.<i>``
for ncps's ``rnn_cell.layer_<i>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from liquid_controller.errors import ConfigError
from liquid_controller.models.baselines import (
    BASELINE_CELLS,
    FeedForwardCore,
    LSTMCore,
    baseline_from_config,
)
from liquid_controller.models.cells import CfCCell, CfCMode, LTCCell, WiredCfCCell, parse_mode
from liquid_controller.models.wiring import FullyConnected, Wiring, wiring_from_config

__all__ = ["CfC", "LSTMCell", "LTC", "LiquidRNN", "rnn_from_config"]


class LSTMCell(nn.Module):
    """ncps's LSTM memory cell for ``mixed_memory`` (same parameters and initialisation)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.input_map = nn.Linear(input_size, 4 * hidden_size, bias=True)
        self.recurrent_map = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        nn.init.xavier_uniform_(self.input_map.weight)
        nn.init.uniform_(self.input_map.bias, -0.1, 0.1)
        nn.init.orthogonal_(self.recurrent_map.weight)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(h_next, c_next)``; the forget gate is biased by +1 as in ncps."""
        z = self.input_map(x) + self.recurrent_map(h)
        i, ig, fg, og = z.chunk(4, 1)
        c_next = c * torch.sigmoid(fg + 1.0) + torch.tanh(i) * torch.sigmoid(ig)
        return torch.tanh(c_next) * torch.sigmoid(og), c_next


class LiquidRNN(nn.Module):
    """Run a liquid cell over sequences, or one step at a time, with per-sample time steps.

    Args:
        cell: a :class:`CfCCell`, :class:`WiredCfCCell` or :class:`LTCCell`.
        proj_size: width of a linear output projection (``None``: outputs as the cell's).
        return_sequences: return every step's output (else only the last).
        batch_first: inputs are ``(batch, time, features)`` (else ``(time, batch, features)``).
        mixed_memory: add ncps's LSTM memory cell before the liquid cell.

    Attributes:
        units: number of liquid neurons.
        state_size: width of the state tensor (``2 * units`` with ``mixed_memory``).
        input_size: number of input features.
        output_size: number of outputs per step.
    """

    __constants__ = ["batch_first", "return_sequences", "units"]  # TorchScript constants
    if TYPE_CHECKING:  # buffers, for type checkers only (TorchScript cannot read these)
        neuron_order: torch.Tensor
        dtype_probe: torch.Tensor

    def __init__(
        self,
        cell: nn.Module,
        proj_size: int | None = None,
        return_sequences: bool = True,
        batch_first: bool = True,
        mixed_memory: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(cell, (CfCCell, WiredCfCCell, LTCCell)):
            raise ConfigError("cell", type(cell).__name__, "CfCCell, WiredCfCCell or LTCCell")
        if proj_size is not None and (isinstance(proj_size, bool) or proj_size < 1):
            raise ConfigError("proj_size", proj_size, "None or an integer >= 1")
        self.rnn_cell = cell
        self.units = int(cell.state_size)
        self.input_size = int(cell.input_size)
        self.proj_size = proj_size
        self.return_sequences = bool(return_sequences)
        self.batch_first = bool(batch_first)
        self.mixed_memory = bool(mixed_memory)
        self.state_size = self.units * (2 if mixed_memory else 1)
        self.lstm = LSTMCell(self.input_size, self.units) if mixed_memory else None
        cell_outputs = int(cell.output_size)
        self.fc: nn.Module = (
            nn.Identity() if proj_size is None else nn.Linear(cell_outputs, proj_size)
        )
        self.output_size = cell_outputs if proj_size is None else int(proj_size)
        order = torch.empty(self.units, dtype=torch.long)
        order[torch.tensor(cell.state_neuron_ids)] = torch.arange(self.units)
        self.register_buffer("neuron_order", order, persistent=False)
        # Empty float buffer that follows .to()/.double(): gives initial_state its dtype/device.
        self.register_buffer("dtype_probe", torch.zeros(0), persistent=False)

    @torch.jit.export
    def initial_state(self, batch: int) -> torch.Tensor:
        """Return the reset state: zeros of shape ``(batch, state_size)``."""
        like = self.dtype_probe
        return torch.zeros(batch, self.state_size, dtype=like.dtype, device=like.device)

    @torch.jit.export
    def activity(self, h: torch.Tensor) -> torch.Tensor:
        """Return every liquid neuron's state in neuron-id order, shape ``(..., units)``."""
        return torch.index_select(h[..., : self.units], -1, self.neuron_order)

    @torch.jit.export
    def step(
        self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step.

        Args:
            x: inputs, shape ``(batch, input_size)``.
            h: state, shape ``(batch, state_size)`` (:meth:`initial_state` to reset).
            dt: elapsed time in seconds per sample: shape ``(batch,)`` or
                ``(batch, 1)``, or a scalar tensor for the whole batch.

        Returns:
            ``(y, h_next)`` with ``y`` of shape ``(batch, output_size)``.
        """
        if x.dim() != 2 or x.size(1) != self.input_size:
            raise ValueError(
                "step: 'x' must have shape (batch, "
                + str(self.input_size)
                + "), got "
                + str(x.shape)
            )
        if h.dim() != 2 or h.size(0) != x.size(0) or h.size(1) != self.state_size:
            raise ValueError(
                "step: 'h' must have shape (batch, "
                + str(self.state_size)
                + ") with the batch of 'x', got "
                + str(h.shape)
            )
        if dt.numel() != 1 and dt.numel() != x.size(0):
            raise ValueError(
                "step: 'dt' must hold one value or one per sample, got shape " + str(dt.shape)
            )
        dt = dt.to(x.dtype).reshape(-1, 1).expand(x.size(0), 1)
        lstm = self.lstm
        if lstm is not None:
            liquid, memory = h[:, : self.units], h[:, self.units :]
            liquid, memory = lstm(x, liquid, memory)
            y, liquid = self.rnn_cell(x, liquid, dt)
            return self.fc(y), torch.cat([liquid, memory], dim=1)
        y, h = self.rnn_cell(x, h, dt)
        return self.fc(y), h

    def forward(
        self,
        x: torch.Tensor,
        hx: torch.Tensor | None = None,
        timespans: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run a sequence.

        Args:
            x: ``(batch, time, features)`` (``batch_first``), ``(time, batch, features)``,
                or unbatched ``(time, features)``.
            hx: initial state ``(batch, state_size)`` (``(state_size,)`` unbatched);
                zeros when ``None``.
            timespans: elapsed time of each step in seconds, per sample: ``x``'s
                shape without the feature axis (a trailing axis of 1 is accepted);
                1.0 everywhere when ``None``.

        Returns:
            ``(y, h_last)``: ``y`` is ``(batch, time, output_size)`` (time-major if
            not ``batch_first``; only the last step without ``return_sequences``),
            ``h_last`` the final state.
        """
        batched = x.dim() == 3
        if not batched:
            if x.dim() != 2:
                raise ValueError("forward: 'x' must be 2-D or 3-D, got shape " + str(x.shape))
            x = x.unsqueeze(0 if self.batch_first else 1)
            if timespans is not None:
                timespans = timespans.unsqueeze(0 if self.batch_first else 1)
            if hx is not None:
                hx = hx.unsqueeze(0)
        if not self.batch_first:
            x = x.transpose(0, 1)
            if timespans is not None:
                timespans = timespans.transpose(0, 1)
        batch, steps = x.size(0), x.size(1)
        if timespans is None:
            timespans = torch.ones(batch, steps, dtype=x.dtype, device=x.device)
        if timespans.dim() == 3 and timespans.size(2) == 1:
            timespans = timespans.squeeze(2)
        if timespans.shape != (batch, steps):
            raise ValueError(
                "forward: 'timespans' must match x without its feature axis "
                + str((batch, steps))
                + " (batch-first order), got "
                + str(timespans.shape)
            )
        h = self.initial_state(batch) if hx is None else hx
        outputs: list[torch.Tensor] = []
        y = torch.zeros(batch, self.output_size, dtype=x.dtype, device=x.device)
        for t in range(steps):
            y, h = self.step(x[:, t], h, timespans[:, t])
            if self.return_sequences:
                outputs.append(y)
        if self.return_sequences:
            y = torch.stack(outputs, dim=1 if self.batch_first else 0)
        if not batched:
            y = y.squeeze(0 if self.batch_first or not self.return_sequences else 1)
            h = h.squeeze(0)
        return y, h


class CfC(LiquidRNN):
    """A CfC network, dense (``units`` is an int) or wired (``units`` is a :class:`Wiring`).

    Args:
        input_size: number of input features.
        units: number of neurons, or a wiring (then one CfC cell per wiring layer).
        proj_size: width of a linear output projection.
        return_sequences: see :class:`LiquidRNN`.
        batch_first: see :class:`LiquidRNN`.
        mixed_memory: see :class:`LiquidRNN`.
        mode: see :class:`~liquid_controller.models.cells.CfCMode`.
        activation: backbone activation (dense only).
        backbone_units: backbone width (dense only; default 128).
        backbone_layers: backbone depth (dense only; default 1).
        backbone_dropout: backbone dropout (dense only; default 0).
    """

    def __init__(
        self,
        input_size: int,
        units: int | Wiring,
        proj_size: int | None = None,
        return_sequences: bool = True,
        batch_first: bool = True,
        mixed_memory: bool = False,
        mode: str | CfCMode = CfCMode.DEFAULT,
        activation: str = "lecun_tanh",
        backbone_units: int | None = None,
        backbone_layers: int | None = None,
        backbone_dropout: float | None = None,
    ) -> None:
        cell: nn.Module
        if isinstance(units, Wiring):
            for key, value in (
                ("backbone_units", backbone_units),
                ("backbone_layers", backbone_layers),
                ("backbone_dropout", backbone_dropout),
            ):
                if value is not None:
                    raise ConfigError(key, value, "None (a wired CfC has no backbone)")
            cell = WiredCfCCell(input_size, units, mode)
        else:
            cell = CfCCell(
                input_size,
                units,
                mode,
                activation,
                128 if backbone_units is None else backbone_units,
                1 if backbone_layers is None else backbone_layers,
                0.0 if backbone_dropout is None else backbone_dropout,
            )
        super().__init__(cell, proj_size, return_sequences, batch_first, mixed_memory)
        self.mode = parse_mode(mode).value
        self.activation = activation

    def get_config(self) -> dict[str, Any]:
        """Return the JSON-able constructor description (wiring matrices included)."""
        config: dict[str, Any] = {
            "cell": "cfc",
            "input_size": self.input_size,
            "proj_size": self.proj_size,
            "return_sequences": self.return_sequences,
            "batch_first": self.batch_first,
            "mixed_memory": self.mixed_memory,
            "mode": self.mode,
        }
        cell = self.rnn_cell
        if isinstance(cell, WiredCfCCell):
            config["wiring"] = cell.wiring.get_config()
        else:
            assert isinstance(cell, CfCCell)
            config.update(
                units=cell.hidden_size,
                activation=cell.backbone_activation,
                backbone_units=cell.backbone_units,
                backbone_layers=cell.backbone_layers,
                backbone_dropout=cell.backbone_dropout,
            )
        return config


class LTC(LiquidRNN):
    """An LTC network on a wiring; an int ``units`` means ``FullyConnected(units)`` (as ncps).

    Args:
        input_size: number of input features.
        units: number of neurons, or a wiring.
        proj_size: width of a linear output projection (ncps's LTC has none).
        return_sequences: see :class:`LiquidRNN`.
        batch_first: see :class:`LiquidRNN`.
        mixed_memory: see :class:`LiquidRNN`.
        input_mapping: see :class:`~liquid_controller.models.cells.LTCCell`.
        output_mapping: see :class:`~liquid_controller.models.cells.LTCCell`.
        ode_unfolds: solver sub-steps per step.
        epsilon: solver denominator guard.
        implicit_param_constraints: softplus positivity (ncps's LTC default: on).
    """

    def __init__(
        self,
        input_size: int,
        units: int | Wiring,
        proj_size: int | None = None,
        return_sequences: bool = True,
        batch_first: bool = True,
        mixed_memory: bool = False,
        input_mapping: str = "affine",
        output_mapping: str = "affine",
        ode_unfolds: int = 6,
        epsilon: float = 1e-8,
        implicit_param_constraints: bool = True,
    ) -> None:
        wiring = units if isinstance(units, Wiring) else FullyConnected(units)
        cell = LTCCell(
            input_size,
            wiring,
            input_mapping,
            output_mapping,
            ode_unfolds,
            epsilon,
            implicit_param_constraints,
        )
        super().__init__(cell, proj_size, return_sequences, batch_first, mixed_memory)

    def get_config(self) -> dict[str, Any]:
        """Return the JSON-able constructor description (wiring matrices included)."""
        cell = self.rnn_cell
        assert isinstance(cell, LTCCell)
        return {
            "cell": "ltc",
            "input_size": self.input_size,
            "wiring": cell.wiring.get_config(),
            "proj_size": self.proj_size,
            "return_sequences": self.return_sequences,
            "batch_first": self.batch_first,
            "mixed_memory": self.mixed_memory,
            "input_mapping": cell.input_mapping,
            "output_mapping": cell.output_mapping,
            "ode_unfolds": cell.ode_unfolds,
            "epsilon": cell.epsilon,
            "implicit_param_constraints": cell.implicit_param_constraints,
        }


def rnn_from_config(config: dict[str, Any]) -> LiquidRNN | LSTMCore | FeedForwardCore:
    """Build a :class:`CfC`, :class:`LTC` or baseline core from ``get_config()`` output.

    Fresh weights; ``cell`` ``"lstm"`` / ``"feedforward"`` builds a baseline of
    :mod:`liquid_controller.models.baselines`.

    Raises:
        ConfigError: naming the key that is missing, unknown or invalid.
    """
    config = dict(config)
    kind = config.pop("cell", None)
    if kind in BASELINE_CELLS:
        return baseline_from_config(kind, config)
    classes: dict[str, type[LiquidRNN]] = {"cfc": CfC, "ltc": LTC}
    if kind not in classes:
        raise ConfigError("cell", kind, "'cfc', 'ltc', 'lstm' or 'feedforward'")
    if "wiring" in config:
        if "units" in config:
            raise ConfigError("units", config["units"], "absent when 'wiring' is given")
        config["units"] = wiring_from_config(config.pop("wiring"))
    try:
        return classes[kind](**config)
    except TypeError as err:
        raise ConfigError("rnn", sorted(config), f"arguments of {kind} ({err})") from None
