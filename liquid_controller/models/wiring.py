"""Synapse graphs of liquid networks (numpy only: the torch-free runtime imports this module).

A wiring says which neuron talks to which, and with which polarity: ``+1``
(excitatory), ``-1`` (inhibitory) or ``0`` (no synapse). Two integer matrices
hold it:

- ``adjacency_matrix[src, dest]``, shape ``(units, units)``, between neurons;
- ``sensory_adjacency_matrix[src, dest]``, shape ``(input_dim, units)``, from
  the input features ("sensory neurons") to the neurons. It exists once
  :meth:`Wiring.build` has been given the input size.

Neuron ids follow ncps: for :class:`NCP` the motor neurons come first (ids
``0 .. motor-1``, they are the outputs), then the command neurons, then the
inter neurons. For other wirings the first ``output_dim`` neurons are the outputs.

For :class:`NCP`, :class:`AutoNCP` and :class:`FullyConnected`, the same
arguments and seed give exactly the matrices ncps 1.0.1 builds (the random
draws are made in the same order with the same generators), so a network
trained with ncps keeps its graph here.

:meth:`Wiring.get_config` returns a JSON-able dict holding the constructor
arguments (seed included) *and* both matrices; :func:`wiring_from_config`
restores the wiring from it exactly, without re-drawing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError

__all__ = [
    "NCP",
    "AutoNCP",
    "FullyConnected",
    "Random",
    "Wiring",
    "wiring_from_config",
]

IntMatrix = npt.NDArray[np.int32]


class Wiring:
    """A general synapse graph of ``units`` neurons; subclasses generate specific ones.

    The base class starts without synapses; :meth:`add_synapse` and
    :meth:`add_sensory_synapse` (after :meth:`build`) fill it by hand.

    Args:
        units: number of neurons (the state size of the network).
        output_dim: number of output (motor) neurons, ids ``0 .. output_dim-1``;
            all neurons when ``None``.
    """

    def __init__(self, units: int, output_dim: int | None = None) -> None:
        _check_int("units", units, minimum=1)
        output_dim = units if output_dim is None else output_dim
        _check_int("output_dim", output_dim, minimum=1)
        if output_dim > units:
            raise ConfigError("output_dim", output_dim, f"an integer <= units ({units})")
        self.units = int(units)
        self.output_dim = int(output_dim)
        self.adjacency_matrix: IntMatrix = np.zeros((units, units), dtype=np.int32)
        self.sensory_adjacency_matrix: IntMatrix | None = None
        self.input_dim: int | None = None

    # -- structure -----------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        """Number of neuron layers (1 except for NCP wirings, which have 3)."""
        return 1

    def get_neurons_of_layer(self, layer_id: int) -> list[int]:
        """Return the neuron ids of layer ``layer_id``, in ascending order."""
        if layer_id != 0:
            raise ConfigError("layer_id", layer_id, "0 (this wiring has a single layer)")
        return list(range(self.units))

    def layer_sizes(self) -> list[int]:
        """Return the number of neurons of each layer, first layer first."""
        return [len(self.get_neurons_of_layer(i)) for i in range(self.num_layers)]

    def neuron_type(self, neuron_id: int) -> str:
        """Return the role of a neuron: ``"inter"``, ``"command"``, ``"motor"`` or ``"unit"``."""
        self._check_neuron("neuron_id", neuron_id)
        return "unit"

    def neuron_types(self) -> list[str]:
        """Return the role of every neuron, in neuron-id order."""
        return [self.neuron_type(i) for i in range(self.units)]

    @property
    def synapse_count(self) -> int:
        """Number of synapses between neurons."""
        return int(np.count_nonzero(self.adjacency_matrix))

    @property
    def sensory_synapse_count(self) -> int:
        """Number of synapses from the inputs to the neurons (0 before :meth:`build`)."""
        if self.sensory_adjacency_matrix is None:
            return 0
        return int(np.count_nonzero(self.sensory_adjacency_matrix))

    # -- building ------------------------------------------------------------------

    def is_built(self) -> bool:
        """Return whether the input size is known (and the sensory synapses exist)."""
        return self.input_dim is not None

    def build(self, input_dim: int) -> None:
        """Fix the number of input features and generate the sensory synapses.

        Building twice with the same size is a no-op (the synapses are drawn once).

        Raises:
            ConfigError: ``input_dim`` is not a positive integer, or differs from
                the size this wiring was already built with.
        """
        _check_int("input_dim", input_dim, minimum=1)
        if self.input_dim is not None:
            if self.input_dim != input_dim:
                raise ConfigError(
                    "input_dim", input_dim, f"{self.input_dim} (the wiring is already built)"
                )
            return
        self.input_dim = int(input_dim)
        self.sensory_adjacency_matrix = np.zeros((input_dim, self.units), dtype=np.int32)
        self._build_sensory()

    def _build_sensory(self) -> None:
        """Generate the synapses that depend on the input size (none in the base class)."""

    def add_synapse(self, src: int, dest: int, polarity: int) -> None:
        """Set the synapse from neuron ``src`` to neuron ``dest`` to ``polarity`` (-1 or +1)."""
        self._check_neuron("src", src)
        self._check_neuron("dest", dest)
        _check_polarity(polarity)
        self.adjacency_matrix[src, dest] = polarity

    def add_sensory_synapse(self, src: int, dest: int, polarity: int) -> None:
        """Set the synapse from input feature ``src`` to neuron ``dest`` to ``polarity``."""
        if self.sensory_adjacency_matrix is None or self.input_dim is None:
            raise ConfigError("input_dim", None, "build(input_dim) before adding sensory synapses")
        if not 0 <= src < self.input_dim:
            raise ConfigError("src", src, f"an input index in [0, {self.input_dim})")
        self._check_neuron("dest", dest)
        _check_polarity(polarity)
        self.sensory_adjacency_matrix[src, dest] = polarity

    def _check_neuron(self, name: str, neuron_id: int) -> None:
        if not 0 <= neuron_id < self.units:
            raise ConfigError(name, neuron_id, f"a neuron id in [0, {self.units})")

    # -- serialisation -------------------------------------------------------------

    def _args(self) -> dict[str, Any]:
        """Constructor arguments that recreate this wiring (before :meth:`build`)."""
        return {"units": self.units, "output_dim": self.output_dim}

    def get_config(self) -> dict[str, Any]:
        """Return a JSON-able description: class, constructor arguments and both matrices."""
        return {
            "type": type(self).__name__,
            "args": self._args(),
            "input_dim": self.input_dim,
            "adjacency_matrix": self.adjacency_matrix.tolist(),
            "sensory_adjacency_matrix": None
            if self.sensory_adjacency_matrix is None
            else self.sensory_adjacency_matrix.tolist(),
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._args().items())
        return f"{type(self).__name__}({args}, input_dim={self.input_dim})"


class FullyConnected(Wiring):
    """Every neuron and every input connects to every neuron; polarity -1 with chance 1/3.

    Same seed and arguments give exactly ncps 1.0.1's ``FullyConnected`` matrices.

    Args:
        units: number of neurons.
        output_dim: number of output neurons (all when ``None``).
        erev_init_seed: seed of the polarity draws (``numpy.random.default_rng``).
        self_connections: whether a neuron synapses onto itself.
    """

    def __init__(
        self,
        units: int,
        output_dim: int | None = None,
        erev_init_seed: int = 1111,
        self_connections: bool = True,
    ) -> None:
        super().__init__(units, output_dim)
        self.erev_init_seed = int(erev_init_seed)
        self.self_connections = bool(self_connections)
        self._rng = np.random.default_rng(erev_init_seed)
        for src in range(self.units):
            for dest in range(self.units):
                if src == dest and not self_connections:
                    continue
                self.add_synapse(src, dest, int(self._rng.choice([-1, 1, 1])))

    def _build_sensory(self) -> None:
        assert self.input_dim is not None
        for src in range(self.input_dim):
            for dest in range(self.units):
                self.add_sensory_synapse(src, dest, int(self._rng.choice([-1, 1, 1])))

    def _args(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "output_dim": self.output_dim,
            "erev_init_seed": self.erev_init_seed,
            "self_connections": self.self_connections,
        }


class Random(Wiring):
    """A random fraction ``1 - sparsity_level`` of all possible synapses; polarity -1 w.p. 1/3.

    Differs from ncps 1.0.1 on purpose: ncps's ``Random.build`` adds every
    sensory synapse twice, drawing a second polarity that overwrites the first.
    Here each sensory synapse is drawn once. The neuron-to-neuron matrix and
    the *set* of sensory synapses equal ncps's for the same seed; the sensory
    polarities differ.

    Args:
        units: number of neurons.
        output_dim: number of output neurons (all when ``None``).
        sparsity_level: fraction of absent synapses, in ``[0, 1)``.
        random_seed: seed of all draws (``numpy.random.default_rng``).
    """

    def __init__(
        self,
        units: int,
        output_dim: int | None = None,
        sparsity_level: float = 0.0,
        random_seed: int = 1111,
    ) -> None:
        super().__init__(units, output_dim)
        if not 0.0 <= sparsity_level < 1.0:
            raise ConfigError("sparsity_level", sparsity_level, "a number in [0, 1)")
        self.sparsity_level = float(sparsity_level)
        self.random_seed = int(random_seed)
        self._rng = np.random.default_rng(random_seed)
        self._add_random_synapses(self.units, self.add_synapse)

    def _build_sensory(self) -> None:
        assert self.input_dim is not None
        self._add_random_synapses(self.input_dim, self.add_sensory_synapse)

    def _add_random_synapses(self, sources: int, add: Any) -> None:
        count = int(np.round(sources * self.units * (1 - self.sparsity_level)))
        pairs = [(src, dest) for src in range(sources) for dest in range(self.units)]
        for src, dest in self._rng.choice(pairs, size=count, replace=False):
            add(int(src), int(dest), int(self._rng.choice([-1, 1, 1])))

    def _args(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "output_dim": self.output_dim,
            "sparsity_level": self.sparsity_level,
            "random_seed": self.random_seed,
        }


class NCP(Wiring):
    """A Neural Circuit Policy: sensory -> inter -> command (recurrent) -> motor neurons.

    Layers (as ncps): layer 0 = inter, 1 = command, 2 = motor. Neuron ids:
    motor ``0 .. m-1``, command ``m .. m+c-1``, inter ``m+c .. units-1``.
    Same arguments and seed give exactly ncps 1.0.1's matrices
    (``numpy.random.RandomState(seed)``, draws in ncps's order).

    Args:
        inter_neurons: number of inter neurons.
        command_neurons: number of command neurons.
        motor_neurons: number of motor neurons (= outputs).
        sensory_fanout: synapses from each input to distinct inter neurons.
        inter_fanout: synapses from each inter neuron to distinct command neurons.
        recurrent_command_synapses: random command -> command synapses.
        motor_fanin: synapses into each motor neuron from distinct command neurons.
        seed: seed of all draws; ``None`` (e.g. converted from ncps, whose NCP
            does not keep its seed) draws unreproducibly.
    """

    def __init__(
        self,
        inter_neurons: int,
        command_neurons: int,
        motor_neurons: int,
        sensory_fanout: int,
        inter_fanout: int,
        recurrent_command_synapses: int,
        motor_fanin: int,
        seed: int | None = 22222,
    ) -> None:
        for name, value in (
            ("inter_neurons", inter_neurons),
            ("command_neurons", command_neurons),
            ("motor_neurons", motor_neurons),
            ("sensory_fanout", sensory_fanout),
            ("inter_fanout", inter_fanout),
            ("motor_fanin", motor_fanin),
        ):
            _check_int(name, value, minimum=1)
        _check_int("recurrent_command_synapses", recurrent_command_synapses, minimum=0)
        super().__init__(inter_neurons + command_neurons + motor_neurons, motor_neurons)
        for name, value, limit, limit_name in (
            ("motor_fanin", motor_fanin, command_neurons, "command_neurons"),
            ("sensory_fanout", sensory_fanout, inter_neurons, "inter_neurons"),
            ("inter_fanout", inter_fanout, command_neurons, "command_neurons"),
        ):
            if value > limit:
                raise ConfigError(name, value, f"an integer <= {limit_name} ({limit})")
        self.num_inter_neurons = int(inter_neurons)
        self.num_command_neurons = int(command_neurons)
        self.num_motor_neurons = int(motor_neurons)
        self.sensory_fanout = int(sensory_fanout)
        self.inter_fanout = int(inter_fanout)
        self.recurrent_command_synapses = int(recurrent_command_synapses)
        self.motor_fanin = int(motor_fanin)
        self.seed = None if seed is None else int(seed)
        self._rng = np.random.RandomState(self.seed)
        m, c = self.num_motor_neurons, self.num_command_neurons
        self.motor_neurons = list(range(0, m))
        self.command_neurons = list(range(m, m + c))
        self.inter_neurons = list(range(m + c, self.units))

    @property
    def num_layers(self) -> int:
        """Three layers: inter, command, motor."""
        return 3

    def get_neurons_of_layer(self, layer_id: int) -> list[int]:
        """Return the neuron ids of layer 0 (inter), 1 (command) or 2 (motor)."""
        layers = (self.inter_neurons, self.command_neurons, self.motor_neurons)
        if layer_id not in (0, 1, 2):
            raise ConfigError("layer_id", layer_id, "0 (inter), 1 (command) or 2 (motor)")
        return list(layers[layer_id])

    def neuron_type(self, neuron_id: int) -> str:
        """Return ``"motor"``, ``"command"`` or ``"inter"``."""
        self._check_neuron("neuron_id", neuron_id)
        if neuron_id < self.num_motor_neurons:
            return "motor"
        if neuron_id < self.num_motor_neurons + self.num_command_neurons:
            return "command"
        return "inter"

    def _build_sensory(self) -> None:
        # ncps draws the whole graph at build time, in this order.
        self._build_sensory_to_inter_layer()
        self._build_inter_to_command_layer()
        self._build_recurrent_command_layer()
        self._build_command_to_motor_layer()

    def _connect_fanout(
        self, sources: list[int], targets: list[int], fanout: int, add: Any, by_source: bool
    ) -> list[int]:
        """Connect each of ``sources`` to ``fanout`` distinct ``targets``; return unreached ones.

        With ``by_source=False`` the roles swap for the "unreached" bookkeeping
        (used for motor fan-in, where ncps tracks unreached *sources*).
        """
        unreached = list(targets if by_source else sources)
        for outer in sources if by_source else targets:
            for inner in self._rng.choice(
                targets if by_source else sources, size=fanout, replace=False
            ):
                if inner in unreached:
                    unreached.remove(inner)
                polarity = int(self._rng.choice([-1, 1]))
                if by_source:
                    add(outer, int(inner), polarity)
                else:
                    add(int(inner), outer, polarity)
        return unreached

    def _build_sensory_to_inter_layer(self) -> None:
        assert self.input_dim is not None
        sensory = list(range(self.input_dim))
        unreached = self._connect_fanout(
            sensory, self.inter_neurons, self.sensory_fanout, self.add_sensory_synapse, True
        )
        fanin = int(self.input_dim * self.sensory_fanout / self.num_inter_neurons)
        fanin = int(np.clip(fanin, 1, self.input_dim))
        for dest in unreached:
            for src in self._rng.choice(sensory, size=fanin, replace=False):
                self.add_sensory_synapse(int(src), dest, int(self._rng.choice([-1, 1])))

    def _build_inter_to_command_layer(self) -> None:
        unreached = self._connect_fanout(
            self.inter_neurons, self.command_neurons, self.inter_fanout, self.add_synapse, True
        )
        fanin = int(self.num_inter_neurons * self.inter_fanout / self.num_command_neurons)
        # ncps clips by the number of command neurons here (not inter neurons); kept for parity.
        fanin = int(np.clip(fanin, 1, self.num_command_neurons))
        for dest in unreached:
            for src in self._rng.choice(self.inter_neurons, size=fanin, replace=False):
                self.add_synapse(int(src), dest, int(self._rng.choice([-1, 1])))

    def _build_recurrent_command_layer(self) -> None:
        for _ in range(self.recurrent_command_synapses):
            src = int(self._rng.choice(self.command_neurons))
            dest = int(self._rng.choice(self.command_neurons))
            self.add_synapse(src, dest, int(self._rng.choice([-1, 1])))

    def _build_command_to_motor_layer(self) -> None:
        unreached = self._connect_fanout(
            self.command_neurons, self.motor_neurons, self.motor_fanin, self.add_synapse, False
        )
        fanout = int(self.num_motor_neurons * self.motor_fanin / self.num_command_neurons)
        fanout = int(np.clip(fanout, 1, self.num_motor_neurons))
        for src in unreached:
            for dest in self._rng.choice(self.motor_neurons, size=fanout, replace=False):
                self.add_synapse(src, int(dest), int(self._rng.choice([-1, 1])))

    def _args(self) -> dict[str, Any]:
        return {
            "inter_neurons": self.num_inter_neurons,
            "command_neurons": self.num_command_neurons,
            "motor_neurons": self.num_motor_neurons,
            "sensory_fanout": self.sensory_fanout,
            "inter_fanout": self.inter_fanout,
            "recurrent_command_synapses": self.recurrent_command_synapses,
            "motor_fanin": self.motor_fanin,
            "seed": self.seed,
        }


class AutoNCP(NCP):
    """An :class:`NCP` sized from the total neuron count, the output count and a sparsity.

    Layer sizes and fan-outs are derived exactly as ncps 1.0.1 does: 40 % of
    the non-motor neurons (at least 1) are command neurons, the rest inter
    neurons; fan-outs are ``max(int(layer_size * (1 - sparsity_level)), 1)``.

    Args:
        units: total number of neurons.
        output_size: number of motor neurons; must be < ``units - 2``.
        sparsity_level: in ``[0.1, 1.0]`` (ncps's accepted range).
        seed: seed of all draws.
    """

    def __init__(
        self,
        units: int,
        output_size: int,
        sparsity_level: float = 0.5,
        seed: int = 22222,
    ) -> None:
        _check_int("units", units, minimum=1)
        _check_int("output_size", output_size, minimum=1)
        if output_size >= units - 2:
            raise ConfigError("output_size", output_size, f"an integer < units - 2 ({units - 2})")
        if not 0.1 <= sparsity_level <= 1.0:
            raise ConfigError("sparsity_level", sparsity_level, "a number in [0.1, 1.0]")
        self.output_size = int(output_size)
        self.sparsity_level = float(sparsity_level)
        density = 1.0 - sparsity_level
        inter_and_command = units - output_size
        command = max(int(0.4 * inter_and_command), 1)
        inter = inter_and_command - command
        super().__init__(
            inter_neurons=inter,
            command_neurons=command,
            motor_neurons=output_size,
            sensory_fanout=max(int(inter * density), 1),
            inter_fanout=max(int(command * density), 1),
            recurrent_command_synapses=max(int(command * density * 2), 1),
            motor_fanin=max(int(command * density), 1),
            seed=seed,
        )

    def _args(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "output_size": self.output_size,
            "sparsity_level": self.sparsity_level,
            "seed": self.seed,
        }


_WIRING_TYPES: dict[str, type[Wiring]] = {
    cls.__name__: cls for cls in (Wiring, FullyConnected, Random, NCP, AutoNCP)
}


def wiring_from_config(config: Mapping[str, Any]) -> Wiring:
    """Recreate a wiring from :meth:`Wiring.get_config`, restoring the stored matrices exactly.

    The constructor is called with the stored arguments (which validates them),
    then the stored matrices replace whatever it generated; nothing is re-drawn.
    A config with only ``type`` and ``args`` (and optionally ``input_dim``)
    describes a fresh wiring: it is generated from its seed instead (and built
    when ``input_dim`` is given).

    Raises:
        ConfigError: naming the key (``wiring.type``, ``wiring.args``,
            ``wiring.adjacency_matrix`` ...) that is missing or malformed.
    """
    if not isinstance(config, Mapping):
        raise ConfigError("wiring", config, "a mapping from Wiring.get_config()")
    for key in ("type", "args"):
        if key not in config:
            raise ConfigError(f"wiring.{key}", None, "present (see Wiring.get_config())")
    cls = _WIRING_TYPES.get(config["type"]) if isinstance(config["type"], str) else None
    if cls is None:
        raise ConfigError("wiring.type", config["type"], f"one of {sorted(_WIRING_TYPES)}")
    args = config["args"]
    if not isinstance(args, Mapping):
        raise ConfigError("wiring.args", args, "a mapping of constructor arguments")
    try:
        wiring = cls(**args)
    except ConfigError:
        raise
    except (TypeError, ValueError, OverflowError) as err:  # e.g. a seed numpy refuses
        expected = f"arguments of {cls.__name__} ({err})"
        raise ConfigError("wiring.args", dict(args), expected) from None
    input_dim = config.get("input_dim")
    if input_dim is not None:
        _check_int("wiring.input_dim", input_dim, minimum=1)
    if "adjacency_matrix" not in config:
        if "sensory_adjacency_matrix" in config:
            raise ConfigError("wiring.adjacency_matrix", None, "present with the sensory matrix")
        if input_dim is not None:
            wiring.build(int(input_dim))
        return wiring
    wiring.adjacency_matrix = _polarity_matrix(
        "wiring.adjacency_matrix", config["adjacency_matrix"], (wiring.units, wiring.units)
    )
    sensory = config.get("sensory_adjacency_matrix")
    if input_dim is None:
        if sensory is not None:
            raise ConfigError("wiring.input_dim", None, "an integer when a sensory matrix is given")
        return wiring
    if sensory is None:
        raise ConfigError("wiring.sensory_adjacency_matrix", None, "a matrix (input_dim is set)")
    wiring.input_dim = int(input_dim)
    wiring.sensory_adjacency_matrix = _polarity_matrix(
        "wiring.sensory_adjacency_matrix", sensory, (wiring.input_dim, wiring.units)
    )
    return wiring


def _polarity_matrix(key: str, value: Any, shape: tuple[int, int]) -> IntMatrix:
    try:
        matrix = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(key, value, f"a {shape[0]}x{shape[1]} matrix of -1/0/+1") from None
    if matrix.shape != shape:
        raise ConfigError(key, f"shape {matrix.shape}", f"shape {shape}")
    if not np.all(np.isin(matrix, (-1.0, 0.0, 1.0))):
        raise ConfigError(key, sorted(set(matrix.ravel().tolist())), "entries in {-1, 0, +1}")
    return matrix.astype(np.int32)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(name, value, f"an integer >= {minimum}")


def _check_polarity(polarity: int) -> None:
    if polarity not in (-1, 1):
        raise ConfigError("polarity", polarity, "-1 (inhibitory) or +1 (excitatory)")
