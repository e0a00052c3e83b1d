"""Loading the policy to explain: graphs with polarities from checkpoints and LTC artifacts."""

from __future__ import annotations

import numpy as np
import pytest
from explain_fakes import small_policy

from liquid_controller.errors import CheckpointError
from liquid_controller.explain.model import load_explained_model
from liquid_controller.models.checkpoint import save_checkpoint
from liquid_controller.models.export import export_policy


def test_checkpoint_gives_network_runtime_and_wiring(tmp_path):
    policy = small_policy()
    save_checkpoint(tmp_path / "p.ckpt", policy)
    model = load_explained_model(tmp_path / "p.ckpt")
    wiring = policy.core.rnn_cell.wiring
    assert model.network is not None
    np.testing.assert_array_equal(model.wiring.adjacency_matrix, wiring.adjacency_matrix)
    assert model.neuron_types() == policy.neuron_types()


def test_ltc_artifact_graph_is_its_masks_signed_by_the_reversal_potentials(tmp_path):
    policy = small_policy(cell="ltc")
    export_policy(policy, tmp_path / "p.npz")
    model = load_explained_model(tmp_path / "p.npz")
    wiring = policy.core.rnn_cell.wiring  # untrained: erev still holds the polarities
    assert model.network is None
    np.testing.assert_array_equal(model.wiring.adjacency_matrix, wiring.adjacency_matrix)
    np.testing.assert_array_equal(
        model.wiring.sensory_adjacency_matrix, wiring.sensory_adjacency_matrix
    )


def test_cfc_artifact_has_no_signed_graph_and_a_missing_file_is_named(tmp_path):
    export_policy(small_policy(), tmp_path / "p.npz")
    assert load_explained_model(tmp_path / "p.npz").wiring is None
    with pytest.raises(CheckpointError, match="nope.npz"):
        load_explained_model(tmp_path / "nope.npz")
