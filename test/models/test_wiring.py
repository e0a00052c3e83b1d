from __future__ import annotations

import json
import os

import ncps.wirings as ncps_wirings
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError
from liquid_controller.models.wiring import (
    NCP,
    AutoNCP,
    FullyConnected,
    Random,
    Wiring,
    wiring_from_config,
)

# Few examples every day; 50x under HYPOTHESIS_PROFILE=stress (see test/conftest.py).
SCALE = 50 if os.environ.get("HYPOTHESIS_PROFILE") == "stress" else 1


def _same_matrices(ours: Wiring, theirs: ncps_wirings.Wiring) -> None:
    np.testing.assert_array_equal(ours.adjacency_matrix, theirs.adjacency_matrix)
    np.testing.assert_array_equal(ours.sensory_adjacency_matrix, theirs.sensory_adjacency_matrix)
    assert ours.units == theirs.units
    assert ours.output_dim == theirs.output_dim


@settings(max_examples=40 * SCALE)
@given(
    units=st.integers(5, 40),
    outputs=st.integers(1, 10),
    sparsity=st.floats(0.1, 1.0),
    seed=st.integers(0, 2**31 - 1),
    inputs=st.integers(1, 20),
)
def test_auto_ncp_matches_ncps(units, outputs, sparsity, seed, inputs):
    if outputs >= units - 2:
        with pytest.raises(ConfigError, match="output_size"):
            AutoNCP(units, outputs, sparsity, seed)
        return
    ours = AutoNCP(units, outputs, sparsity, seed)
    theirs = ncps_wirings.AutoNCP(units, outputs, sparsity, seed)
    ours.build(inputs)
    theirs.build(inputs)
    _same_matrices(ours, theirs)
    assert ours.neuron_types() == [theirs.get_type_of_neuron(i) for i in range(units)]
    for layer in range(3):
        assert ours.get_neurons_of_layer(layer) == list(theirs.get_neurons_of_layer(layer))


@settings(max_examples=30 * SCALE)
@given(
    inter=st.integers(1, 12),
    command=st.integers(1, 10),
    motor=st.integers(1, 6),
    data=st.data(),
    seed=st.integers(0, 2**31 - 1),
    inputs=st.integers(1, 12),
)
def test_ncp_matches_ncps(inter, command, motor, data, seed, inputs):
    sensory_fanout = data.draw(st.integers(1, inter))
    inter_fanout = data.draw(st.integers(1, command))
    motor_fanin = data.draw(st.integers(1, command))
    recurrent = data.draw(st.integers(0, 2 * command))
    # ncps itself cannot build this (it samples more inter neurons than exist).
    assume(int(inter * inter_fanout / command) <= inter)
    args = (inter, command, motor, sensory_fanout, inter_fanout, recurrent, motor_fanin)
    ours = NCP(*args, seed=seed)
    theirs = ncps_wirings.NCP(*args, seed=seed)
    ours.build(inputs)
    theirs.build(inputs)
    _same_matrices(ours, theirs)


@settings(max_examples=25 * SCALE)
@given(
    units=st.integers(1, 12),
    seed=st.integers(0, 2**31 - 1),
    self_connections=st.booleans(),
    inputs=st.integers(1, 8),
)
def test_fully_connected_matches_ncps(units, seed, self_connections, inputs):
    ours = FullyConnected(units, erev_init_seed=seed, self_connections=self_connections)
    theirs = ncps_wirings.FullyConnected(
        units, erev_init_seed=seed, self_connections=self_connections
    )
    ours.build(inputs)
    theirs.build(inputs)
    _same_matrices(ours, theirs)
    assert set(ours.neuron_types()) == {"unit"}


@settings(max_examples=25 * SCALE)
@given(
    units=st.integers(1, 10),
    sparsity=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**31 - 1),
    inputs=st.integers(1, 8),
)
def test_random_fixes_double_sensory_draw(units, sparsity, seed, inputs):
    ours = Random(units, sparsity_level=sparsity, random_seed=seed)
    theirs = ncps_wirings.Random(units, sparsity_level=sparsity, random_seed=seed)
    np.testing.assert_array_equal(ours.adjacency_matrix, theirs.adjacency_matrix)
    ours.build(inputs)
    theirs.build(inputs)
    # Same synapse set as ncps; one polarity draw per synapse (ncps draws two).
    np.testing.assert_array_equal(
        ours.sensory_adjacency_matrix != 0, theirs.sensory_adjacency_matrix != 0
    )
    expected = int(np.round(inputs * units * (1 - sparsity)))
    assert ours.sensory_synapse_count == expected
    rng = np.random.default_rng(seed)
    pairs = [(s, d) for s in range(units) for d in range(units)]
    count = int(np.round(units * units * (1 - sparsity)))
    rng.choice(pairs, size=count, replace=False)
    for _ in range(count):
        rng.choice([-1, 1, 1])
    sensory_pairs = [(s, d) for s in range(inputs) for d in range(units)]
    chosen = rng.choice(sensory_pairs, size=expected, replace=False)
    for src, dest in chosen:
        assert ours.sensory_adjacency_matrix[src, dest] == rng.choice([-1, 1, 1])


def test_random_sensory_polarities_differ_from_ncps_somewhere():
    differing = 0
    for seed in range(5):
        ours, theirs = Random(8, random_seed=seed), ncps_wirings.Random(8, random_seed=seed)
        ours.build(6)
        theirs.build(6)
        differing += int(np.sum(ours.sensory_adjacency_matrix != theirs.sensory_adjacency_matrix))
    assert differing > 0


@pytest.mark.parametrize(
    "wiring",
    [
        AutoNCP(19, 2, seed=7),
        NCP(6, 4, 2, 3, 2, 4, 2, seed=3),
        FullyConnected(5, 2, erev_init_seed=9),
        Random(6, 3, sparsity_level=0.4, random_seed=5),
        Wiring(4, 1),
    ],
    ids=lambda w: type(w).__name__,
)
def test_config_round_trip_is_exact_and_json_able(wiring):
    wiring.build(5)
    # Edit a synapse by hand: restoring must keep the stored matrix, not re-draw it.
    wiring.adjacency_matrix[0, 0] = -1
    config = json.loads(json.dumps(wiring.get_config()))
    restored = wiring_from_config(config)
    assert type(restored) is type(wiring)
    np.testing.assert_array_equal(restored.adjacency_matrix, wiring.adjacency_matrix)
    np.testing.assert_array_equal(
        restored.sensory_adjacency_matrix, wiring.sensory_adjacency_matrix
    )
    assert restored.input_dim == 5
    assert restored.neuron_types() == wiring.neuron_types()
    assert restored.layer_sizes() == wiring.layer_sizes()
    assert restored.get_config() == config


def test_unbuilt_round_trip_then_build_matches_fresh_build():
    config = AutoNCP(12, 3, seed=4).get_config()
    restored = wiring_from_config(config)
    restored.build(4)
    fresh = AutoNCP(12, 3, seed=4)
    fresh.build(4)
    np.testing.assert_array_equal(restored.sensory_adjacency_matrix, fresh.sensory_adjacency_matrix)


def test_seed_only_config_generates_the_seeded_wiring():
    fresh = AutoNCP(12, 3, seed=9)
    fresh.build(5)
    config = {"type": "AutoNCP", "args": {"units": 12, "output_size": 3, "seed": 9}, "input_dim": 5}
    generated = wiring_from_config(config)
    np.testing.assert_array_equal(generated.adjacency_matrix, fresh.adjacency_matrix)
    np.testing.assert_array_equal(
        generated.sensory_adjacency_matrix, fresh.sensory_adjacency_matrix
    )
    assert not wiring_from_config({"type": "AutoNCP", "args": config["args"]}).is_built()


def test_ncp_layers_and_types():
    wiring = AutoNCP(19, 2)
    assert wiring.layer_sizes() == [11, 6, 2]
    assert wiring.get_neurons_of_layer(2) == [0, 1]
    types = wiring.neuron_types()
    assert types[:2] == ["motor", "motor"] and types[2:8] == ["command"] * 6
    assert types[8:] == ["inter"] * 11
    with pytest.raises(ConfigError, match="layer_id"):
        wiring.get_neurons_of_layer(3)


def test_sensory_synapse_count_counts_sensory_synapses():
    # ncps's LTC/CfC report the recurrent count here; ours counts the sensory matrix.
    wiring = AutoNCP(19, 2, seed=1)
    wiring.build(32)
    assert wiring.sensory_synapse_count == int(np.count_nonzero(wiring.sensory_adjacency_matrix))
    assert wiring.sensory_synapse_count != wiring.synapse_count


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: AutoNCP(5, 3), "output_size"),
        (lambda: AutoNCP(10, 2, sparsity_level=0.05), "sparsity_level"),
        (lambda: NCP(3, 2, 1, 4, 1, 1, 1), "sensory_fanout"),
        (lambda: NCP(3, 2, 1, 1, 3, 1, 1), "inter_fanout"),
        (lambda: NCP(3, 2, 1, 1, 1, 1, 3), "motor_fanin"),
        (lambda: Random(4, sparsity_level=1.0), "sparsity_level"),
        (lambda: FullyConnected(0), "units"),
        (lambda: Wiring(3, 4), "output_dim"),
    ],
)
def test_bad_arguments_name_the_key(make, key):
    with pytest.raises(ConfigError, match=key):
        make()


def test_build_conflict_and_bad_synapses():
    wiring = FullyConnected(3)
    wiring.build(2)
    wiring.build(2)  # same size again: no-op
    with pytest.raises(ConfigError, match="input_dim"):
        wiring.build(3)
    with pytest.raises(ConfigError, match="polarity"):
        wiring.add_synapse(0, 1, 2)
    with pytest.raises(ConfigError, match="dest"):
        wiring.add_synapse(0, 3, 1)
    with pytest.raises(ConfigError, match="src"):
        wiring.add_sensory_synapse(2, 0, 1)
    with pytest.raises(ConfigError, match="input_dim"):
        Wiring(3).add_sensory_synapse(0, 0, 1)


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c.pop("args"), "wiring.args"),
        (lambda c: c.pop("adjacency_matrix"), "wiring.adjacency_matrix"),
        (lambda c: c.update(type="Nope"), "wiring.type"),
        (lambda c: c.update(adjacency_matrix=[[0]]), "wiring.adjacency_matrix"),
        (lambda c: c["sensory_adjacency_matrix"][0].__setitem__(0, 3), "sensory_adjacency"),
        (lambda c: c["args"].update(bogus=1), "wiring.args"),
        (lambda c: c.update(sensory_adjacency_matrix=None), "sensory_adjacency"),
    ],
)
def test_bad_config_names_the_key(mutate, key):
    wiring = AutoNCP(8, 2)
    wiring.build(3)
    config = wiring.get_config()
    mutate(config)
    with pytest.raises(ConfigError, match=key):
        wiring_from_config(config)


def test_wiring_module_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; import liquid_controller.models.wiring; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
