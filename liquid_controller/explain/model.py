"""The policy under audit: the torch-free runtime always, the torch network when there is one.

Every rollout and the occlusion saliency run on the exported artifact
(:class:`~liquid_controller.runtime.RuntimePolicy`, numpy only), so a deployed ``.npz`` is
audited exactly as it runs on the robot. A torch checkpoint is exported to a temporary
artifact first and also kept as a network for the gradient methods (gradient saliency,
VisualBackProp); torch is imported only for a checkpoint.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liquid_controller.errors import CheckpointError
from liquid_controller.models.wiring import Wiring, wiring_from_config
from liquid_controller.runtime.artifact import load_artifact
from liquid_controller.runtime.policy import RuntimePolicy
from liquid_controller.runtime.spec import PolicySpec

__all__ = ["ExplainedModel", "load_explained_model"]


@dataclass
class ExplainedModel:
    """A policy ready to explain.

    Attributes:
        source: the model file.
        runtime: the artifact, stepped with numpy (encoder in float64 for exact maps).
        network: the torch ``LiquidPolicy`` when the file is a checkpoint, else ``None``.
        wiring: the core's synapse graph with polarities, or ``None`` (dense cores, or an
            artifact of a CfC core, which keeps only the synapse masks).
    """

    source: Path
    runtime: RuntimePolicy
    network: Any | None
    wiring: Wiring | None

    @property
    def spec(self) -> PolicySpec:
        """The policy's observation/action contract."""
        return self.runtime.spec

    def neuron_types(self) -> list[str]:
        """Role of every neuron (``"unit"`` for dense cores)."""
        return self.runtime.neuron_types()


def load_explained_model(path: str | os.PathLike[str]) -> ExplainedModel:
    """Load an exported artifact (``.npz``) or a torch checkpoint.

    Raises:
        CheckpointError: a missing or invalid file, or a checkpoint without torch installed.
    """
    from liquid_controller.control.policy_loading import is_artifact

    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"model file '{source}': no such file")
    if is_artifact(source):
        return ExplainedModel(
            source,
            RuntimePolicy.load(source, encoder_dtype=np.float64),
            None,
            _artifact_wiring(source),
        )
    try:
        from liquid_controller.models.checkpoint import load_checkpoint
        from liquid_controller.models.export import export_policy
    except ImportError as err:
        raise CheckpointError(
            f"model file '{source}' is a torch checkpoint, which needs torch ({err}); "
            "install it, or explain the exported artifact (liquid-controller export)"
        ) from None
    network = load_checkpoint(source).policy
    with tempfile.TemporaryDirectory(prefix="liquid_explain_") as folder:
        artifact = Path(folder) / "policy.npz"
        export_policy(network, artifact, source={"checkpoint": source.name})
        runtime = RuntimePolicy.load(artifact, encoder_dtype=np.float64)
    core = network.get_config()["core"]
    wiring = wiring_from_config(core["wiring"]) if "wiring" in core else None
    return ExplainedModel(source, runtime, network, wiring)


def _artifact_wiring(path: Path) -> Wiring | None:
    """Rebuild an LTC core's graph from its arrays: mask times the sign of each reversal potential.

    A CfC artifact keeps only its per-layer masks (CfC synapses have no polarity), so no
    graph with polarities exists for it.
    """
    artifact = load_artifact(path)
    core = artifact.config.get("policy", {}).get("core", {})
    if core.get("type") != "ltc":
        return None
    units, inputs = int(core["units"]), int(core["input_size"])
    with artifact.loading():
        mask = artifact.array("core.cell.sparsity_mask", (units, units))
        erev = artifact.array("core.cell.erev", (units, units))
        sensory_mask = artifact.array("core.cell.sensory_sparsity_mask", (inputs, units))
        sensory_erev = artifact.array("core.cell.sensory_erev", (inputs, units))
    motor = int(core.get("motor_size", units))
    wiring = Wiring(units, min(max(motor, 1), units))
    wiring.adjacency_matrix = (mask * np.sign(erev)).astype(np.int32)
    wiring.input_dim = inputs
    wiring.sensory_adjacency_matrix = (sensory_mask * np.sign(sensory_erev)).astype(np.int32)
    return wiring
