"""Single-step liquid cells: CfC, wired CfC (one CfC per NCP layer) and LTC.

Every cell has the same call signature, ``cell(x, h, dt) -> (y, h_next)``:

- ``x``: inputs, shape ``(batch, input_size)``;
- ``h``: hidden state, shape ``(batch, state_size)``;
- ``dt``: elapsed time of this step in seconds, shape ``(batch, 1)`` — one
  value *per sample*, which is what makes a batch give exactly what each
  sample gives alone (ncps broadcasts a ``(batch,)`` time vector against the
  neuron axis instead, its issues #81 and #83);
- ``y``: outputs, shape ``(batch, output_size)``.

Parameter names and shapes are those of ncps 1.0.1 (``ncps.torch.CfCCell``,
``WiredCfCCell``, ``LTCCell``), so a trained ncps state dict loads here
unchanged — except that the wired CfC keeps its layers in an
``nn.ModuleList`` named ``layers`` (ncps: ``layer_0``, ``layer_1`` ...).
All cells compile with ``torch.jit.script``: optional parts are ``None``
attributes and mode switches are TorchScript constants (``__constants__``),
so nothing in ``forward`` reaches a Python object. Every cell exposes
``input_size``, ``state_size``, ``output_size`` and ``state_neuron_ids`` (the
neuron id held at each state position) as plain attributes.

The maths, which the numpy runtime mirrors (``z = [x, h]``, ``@`` = matmul):

CfC (``ff1``, ``ff2``, ``time_a``, ``time_b`` are ``nn.Linear``; ``mask`` is
``sparsity_mask``, applied to the ``ff1``/``ff2`` weights only, as ncps)::

    z  = backbone(z)                      # if backbone_layers > 0: [Linear, act] * n
    f1 = z @ (W_ff1 * mask).T + b_ff1
    pure:     h' = -A * exp(-dt * (|w_tau| + |f1|)) * f1 + A
    default:  f2 = z @ (W_ff2 * mask).T + b_ff2
              g  = sigmoid(time_a(z) * dt + time_b(z))
              h' = tanh(f1) * (1 - g) + g * tanh(f2)
    no_gate:  h' = tanh(f1) + g * tanh(f2)
    y = h'

LTC (semi-implicit fused Euler solver, ``ode_unfolds`` sub-steps of ``dt / ode_unfolds``;
``pos`` is softplus with ``implicit_param_constraints`` and the identity otherwise)::

    x  = x * input_w + input_b            # "affine" input mapping
    S  = pos(sensory_w) * sigmoid(sensory_sigma * (x[:, :, None] - sensory_mu))
    S  = S * sensory_sparsity_mask
    ns = sum_src(S * sensory_erev);  ds = sum_src(S)
    cm_t = pos(cm) / (dt / ode_unfolds)
    repeat ode_unfolds times:
        W  = pos(w) * sigmoid(sigma * (v[:, :, None] - mu)) * sparsity_mask
        v  = (cm_t * v + pos(gleak) * vleak + sum_src(W * erev) + ns)
             / (cm_t + pos(gleak) + sum_src(W) + ds + epsilon)
    y  = v[:, :motor] * output_w + output_b   # "affine" output mapping
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from liquid_controller.errors import ConfigError
from liquid_controller.models.wiring import Wiring

__all__ = ["ACTIVATIONS", "CfCCell", "CfCMode", "LTCCell", "LeCun", "WiredCfCCell"]


class CfCMode(str, enum.Enum):
    """How a CfC cell computes its closed-form solution."""

    DEFAULT = "default"
    """Two tanh heads blended by a time gate."""
    PURE = "pure"
    """The direct closed-form solution approximation (no gate)."""
    NO_GATE = "no_gate"
    """The first head plus the gated second head, without the ``1 - gate`` factor."""


class LeCun(nn.Module):
    """LeCun's scaled tanh, ``1.7159 * tanh(0.666 * x)`` (ncps's default backbone activation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the activation."""
        return 1.7159 * torch.tanh(0.666 * x)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "lecun_tanh": LeCun,
    "silu": nn.SiLU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}
"""Backbone activations by name (the names ncps accepts)."""


def parse_mode(mode: str | CfCMode) -> CfCMode:
    """Return ``mode`` as a :class:`CfCMode`; raise :class:`ConfigError` if unknown."""
    try:
        return CfCMode(mode)
    except ValueError:
        raise ConfigError("mode", mode, f"one of {[m.value for m in CfCMode]}") from None


class CfCCell(nn.Module):
    """A closed-form continuous-time cell (Hasani et al. 2022), dense or with a synapse mask.

    Args:
        input_size: number of input features.
        hidden_size: number of neurons (= state size = output size).
        mode: see :class:`CfCMode`.
        backbone_activation: a key of :data:`ACTIVATIONS`.
        backbone_units: width of each backbone layer.
        backbone_layers: number of backbone layers (0: the heads read ``[x, h]`` directly).
        backbone_dropout: dropout after every backbone layer but the first (as ncps).
        sparsity_mask: polarity matrix of shape ``(input_size + hidden_size, hidden_size)``;
            its absolute value masks the ``ff1``/``ff2`` weights. ``None``: dense.
    """

    __constants__ = ["pure", "gated"]  # TorchScript constants

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        mode: str | CfCMode = CfCMode.DEFAULT,
        backbone_activation: str = "lecun_tanh",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_dropout: float = 0.0,
        sparsity_mask: npt.ArrayLike | None = None,
    ) -> None:
        super().__init__()
        mode = parse_mode(mode)
        _check_positive("input_size", input_size)
        _check_positive("hidden_size", hidden_size)
        if backbone_activation not in ACTIVATIONS:
            raise ConfigError("activation", backbone_activation, f"one of {sorted(ACTIVATIONS)}")
        if backbone_layers < 0:
            raise ConfigError("backbone_layers", backbone_layers, "an integer >= 0")
        if backbone_layers > 0:
            _check_positive("backbone_units", backbone_units)
        if not 0.0 <= backbone_dropout < 1.0:
            raise ConfigError("backbone_dropout", backbone_dropout, "a number in [0, 1)")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.mode = mode.value
        self.pure = mode is CfCMode.PURE
        self.gated = mode is CfCMode.DEFAULT
        self.backbone_activation = backbone_activation
        self.backbone_units = int(backbone_units)
        self.backbone_layers = int(backbone_layers)
        self.backbone_dropout = float(backbone_dropout)
        self.state_size = self.hidden_size
        self.output_size = self.hidden_size
        self.state_neuron_ids = list(range(hidden_size))

        self.sparsity_mask = None
        if sparsity_mask is not None:
            mask = np.abs(np.asarray(sparsity_mask, dtype=np.float32))
            expected = (input_size + hidden_size, hidden_size)
            if mask.shape != expected:
                raise ConfigError("sparsity_mask", f"shape {mask.shape}", f"shape {expected}")
            self.sparsity_mask = nn.Parameter(torch.from_numpy(mask.T.copy()), requires_grad=False)

        self.backbone = None
        if backbone_layers > 0:
            activation = ACTIVATIONS[backbone_activation]
            layers: list[nn.Module] = [nn.Linear(input_size + hidden_size, backbone_units)]
            layers.append(activation())
            for _ in range(1, backbone_layers):
                layers += [nn.Linear(backbone_units, backbone_units), activation()]
                if backbone_dropout > 0.0:
                    layers.append(nn.Dropout(backbone_dropout))
            self.backbone = nn.Sequential(*layers)
        head_in = input_size + hidden_size if backbone_layers == 0 else backbone_units

        self.ff1 = nn.Linear(head_in, hidden_size)
        self.ff2 = None
        self.time_a = None
        self.time_b = None
        self.w_tau = None
        self.A = None
        if self.pure:
            self.w_tau = nn.Parameter(torch.zeros(1, hidden_size))
            self.A = nn.Parameter(torch.ones(1, hidden_size))
        else:
            self.ff2 = nn.Linear(head_in, hidden_size)
            self.time_a = nn.Linear(head_in, hidden_size)
            self.time_b = nn.Linear(head_in, hidden_size)
        for weight in self.parameters():  # ncps's init: Xavier on every trainable matrix
            if weight.dim() == 2 and weight.requires_grad:
                nn.init.xavier_uniform_(weight)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step; ``dt`` has shape ``(batch, 1)``. Returns ``(y, h_next)``, equal."""
        z = torch.cat([x, h], 1)
        if self.backbone is not None:
            z = self.backbone(z)
        mask = self.sparsity_mask
        w_ff1 = self.ff1.weight if mask is None else self.ff1.weight * mask
        ff1 = F.linear(z, w_ff1, self.ff1.bias)
        if self.pure:
            assert self.A is not None and self.w_tau is not None
            new_h = -self.A * torch.exp(-dt * (torch.abs(self.w_tau) + torch.abs(ff1))) * ff1
            new_h = new_h + self.A
            return new_h, new_h
        assert self.ff2 is not None and self.time_a is not None and self.time_b is not None
        w_ff2 = self.ff2.weight if mask is None else self.ff2.weight * mask
        ff2 = torch.tanh(F.linear(z, w_ff2, self.ff2.bias))
        ff1 = torch.tanh(ff1)
        gate = torch.sigmoid(self.time_a(z) * dt + self.time_b(z))
        new_h = ff1 * (1.0 - gate) + gate * ff2 if self.gated else ff1 + gate * ff2
        return new_h, new_h


class WiredCfCCell(nn.Module):
    """CfC cells stacked along the layers of a wiring (inter -> command -> motor for NCP).

    Layer ``l`` is a backbone-free :class:`CfCCell` whose ``ff1``/``ff2``
    weights are masked by the wiring: layer 0 reads the inputs through the
    sensory synapses, layer ``l > 0`` reads layer ``l - 1`` through the neuron
    synapses; within a layer every neuron sees every other (as ncps).

    State layout (as ncps): the layers' states concatenated, first layer
    first — for NCP ``[inter, command, motor]``, which is *not* neuron-id order
    (motor neurons have the lowest ids); see :attr:`state_neuron_ids`. The
    output is the last layer's state.

    Args:
        input_size: number of input features; builds ``wiring`` (``None``: already built).
        wiring: the synapse graph.
        mode: see :class:`CfCMode`.
    """

    def __init__(
        self, input_size: int | None, wiring: Wiring, mode: str | CfCMode = CfCMode.DEFAULT
    ) -> None:
        super().__init__()
        if input_size is not None:
            wiring.build(input_size)
        if wiring.input_dim is None or wiring.sensory_adjacency_matrix is None:
            raise ConfigError("input_size", None, "an integer (the wiring is not built)")
        self.wiring = wiring
        self.mode = parse_mode(mode).value
        self.input_size = wiring.input_dim
        self.layer_sizes = wiring.layer_sizes()
        self.state_size = wiring.units
        self.output_size = self.layer_sizes[-1]
        self.state_neuron_ids = [
            neuron
            for layer in range(wiring.num_layers)
            for neuron in wiring.get_neurons_of_layer(layer)
        ]
        cells = []
        in_features = wiring.input_dim
        for layer in range(wiring.num_layers):
            neurons = wiring.get_neurons_of_layer(layer)
            if layer == 0:
                synapses = wiring.sensory_adjacency_matrix[:, neurons]
            else:
                previous = wiring.get_neurons_of_layer(layer - 1)
                synapses = wiring.adjacency_matrix[np.ix_(previous, neurons)]
            mask = np.concatenate([synapses, np.ones((len(neurons), len(neurons)))], axis=0)
            cells.append(
                CfCCell(
                    in_features,
                    len(neurons),
                    self.mode,
                    backbone_layers=0,
                    sparsity_mask=mask,
                )
            )
            in_features = len(neurons)
        self.layers = nn.ModuleList(cells)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step through every layer; returns ``(last layer state, h_next)``."""
        states = torch.split(h, self.layer_sizes, dim=1)
        new_states: list[torch.Tensor] = []
        inputs = x
        for i, cell in enumerate(self.layers):
            inputs, _ = cell(inputs, states[i], dt)
            new_states.append(inputs)
        return inputs, torch.cat(new_states, dim=1)


_LTC_INIT_RANGES = {
    "gleak": (0.001, 1.0),
    "vleak": (-0.2, 0.2),
    "cm": (0.4, 0.6),
    "w": (0.001, 1.0),
    "sigma": (3.0, 8.0),
    "mu": (0.3, 0.8),
    "sensory_w": (0.001, 1.0),
    "sensory_sigma": (3.0, 8.0),
    "sensory_mu": (0.3, 0.8),
}

_MAPPINGS = ("affine", "linear", "none")


class LTCCell(nn.Module):
    """A liquid time-constant cell (Hasani et al. 2021) on a wiring, with ncps's fused solver.

    State layout: neuron-id order; outputs are the first ``wiring.output_dim``
    neurons (the motor neurons of an NCP), affinely mapped.

    Args:
        input_size: number of input features; builds ``wiring`` (``None``: already built).
        wiring: the synapse graph; its polarities initialise ``erev``/``sensory_erev``.
        input_mapping: ``"affine"`` (``x * input_w + input_b``), ``"linear"`` or ``"none"``.
        output_mapping: same choices, for the motor outputs.
        ode_unfolds: solver sub-steps per step.
        epsilon: added to the solver's denominator.
        implicit_param_constraints: keep ``w``, ``sensory_w``, ``cm``, ``gleak``
            positive through a softplus in the forward pass; otherwise call
            :meth:`apply_weight_constraints` after each optimiser step (clamps them to >= 0).
    """

    __constants__ = [
        "implicit_param_constraints",
        "ode_unfolds",
        "motor_size",
    ]  # TorchScript constants

    def __init__(
        self,
        input_size: int | None,
        wiring: Wiring,
        input_mapping: str = "affine",
        output_mapping: str = "affine",
        ode_unfolds: int = 6,
        epsilon: float = 1e-8,
        implicit_param_constraints: bool = False,
    ) -> None:
        super().__init__()
        if input_size is not None:
            wiring.build(input_size)
        if wiring.input_dim is None or wiring.sensory_adjacency_matrix is None:
            raise ConfigError("input_size", None, "an integer (the wiring is not built)")
        for key, mapping in (("input_mapping", input_mapping), ("output_mapping", output_mapping)):
            if mapping not in _MAPPINGS:
                raise ConfigError(key, mapping, f"one of {list(_MAPPINGS)}")
        _check_positive("ode_unfolds", ode_unfolds)
        if not epsilon >= 0.0:
            raise ConfigError("epsilon", epsilon, "a number >= 0")
        self.wiring = wiring
        self.input_size = wiring.input_dim
        self.input_mapping = input_mapping
        self.output_mapping = output_mapping
        self.ode_unfolds = int(ode_unfolds)
        self.epsilon = float(epsilon)
        self.implicit_param_constraints = bool(implicit_param_constraints)
        self.motor_size = wiring.output_dim
        self.state_size = wiring.units
        self.output_size = wiring.output_dim
        self.state_neuron_ids = list(range(wiring.units))
        self.make_positive = nn.Softplus() if implicit_param_constraints else nn.Identity()

        units, sensory = wiring.units, wiring.input_dim
        self.gleak = self._uniform((units,), "gleak")
        self.vleak = self._uniform((units,), "vleak")
        self.cm = self._uniform((units,), "cm")
        self.sigma = self._uniform((units, units), "sigma")
        self.mu = self._uniform((units, units), "mu")
        self.w = self._uniform((units, units), "w")
        self.erev = nn.Parameter(torch.tensor(wiring.adjacency_matrix, dtype=torch.float32))
        self.sensory_sigma = self._uniform((sensory, units), "sensory_sigma")
        self.sensory_mu = self._uniform((sensory, units), "sensory_mu")
        self.sensory_w = self._uniform((sensory, units), "sensory_w")
        self.sensory_erev = nn.Parameter(
            torch.tensor(wiring.sensory_adjacency_matrix, dtype=torch.float32)
        )
        self.sparsity_mask = nn.Parameter(
            torch.tensor(np.abs(wiring.adjacency_matrix), dtype=torch.float32),
            requires_grad=False,
        )
        self.sensory_sparsity_mask = nn.Parameter(
            torch.tensor(np.abs(wiring.sensory_adjacency_matrix), dtype=torch.float32),
            requires_grad=False,
        )
        self.input_w = nn.Parameter(torch.ones(sensory)) if input_mapping != "none" else None
        self.input_b = nn.Parameter(torch.zeros(sensory)) if input_mapping == "affine" else None
        motor = wiring.output_dim
        self.output_w = nn.Parameter(torch.ones(motor)) if output_mapping != "none" else None
        self.output_b = nn.Parameter(torch.zeros(motor)) if output_mapping == "affine" else None

    @staticmethod
    def _uniform(shape: tuple[int, ...], name: str) -> nn.Parameter:
        low, high = _LTC_INIT_RANGES[name]
        return nn.Parameter(torch.rand(*shape) * (high - low) + low)

    @torch.no_grad()
    def apply_weight_constraints(self) -> None:
        """Clamp the parameters that must be positive to >= 0 (explicit-constraint training)."""
        if not self.implicit_param_constraints:
            for param in (self.w, self.sensory_w, self.cm, self.gleak):
                param.clamp_(min=0.0)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step of ``dt`` (shape ``(batch, 1)``) seconds; returns ``(y, h_next)``."""
        if self.input_w is not None:
            x = x * self.input_w
        if self.input_b is not None:
            x = x + self.input_b
        v = self._solve(x, h, dt)
        y = v[:, : self.motor_size]
        if self.output_w is not None:
            y = y * self.output_w
        if self.output_b is not None:
            y = y + self.output_b
        return y, v

    def _solve(self, x: torch.Tensor, v: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        sensory_act = self.make_positive(self.sensory_w) * torch.sigmoid(
            self.sensory_sigma * (x.unsqueeze(-1) - self.sensory_mu)
        )
        sensory_act = sensory_act * self.sensory_sparsity_mask
        numerator_sensory = torch.sum(sensory_act * self.sensory_erev, dim=1)
        denominator_sensory = torch.sum(sensory_act, dim=1)
        cm_t = self.make_positive(self.cm) / (dt / self.ode_unfolds)
        w = self.make_positive(self.w)
        gleak = self.make_positive(self.gleak)
        for _ in range(self.ode_unfolds):
            act = w * torch.sigmoid(self.sigma * (v.unsqueeze(-1) - self.mu))
            act = act * self.sparsity_mask
            numerator = torch.sum(act * self.erev, dim=1) + numerator_sensory
            denominator = torch.sum(act, dim=1) + denominator_sensory
            numerator = cm_t * v + gleak * self.vleak + numerator
            denominator = cm_t + gleak + denominator
            v = numerator / (denominator + self.epsilon)
        return v


def _check_positive(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(key, value, "an integer >= 1")
