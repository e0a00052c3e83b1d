"""Build a runtime core (CfC, LTC or a baseline) from an artifact; load ``"core"`` artifacts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.artifact import Artifact, load_artifact
from liquid_controller.runtime.baselines import FeedForwardRuntime, LSTMRuntime
from liquid_controller.runtime.cfc import CfCRuntime
from liquid_controller.runtime.config import read_choice, read_section
from liquid_controller.runtime.ltc import LTCRuntime

__all__ = ["RuntimeCore", "build_core", "load_core"]

RuntimeCore = CfCRuntime | LTCRuntime | LSTMRuntime | FeedForwardRuntime


def build_core(
    artifact: Artifact,
    config: Mapping[str, Any],
    prefix: str = "core.",
    dtype: npt.DTypeLike = np.float64,
) -> RuntimeCore:
    """Build the runtime described by ``config`` (its ``type`` key)."""
    classes: dict[str, type[RuntimeCore]] = {
        "cfc": CfCRuntime,
        "ltc": LTCRuntime,
        "lstm": LSTMRuntime,
        "feedforward": FeedForwardRuntime,
    }
    kind = read_choice(config, "type", prefix.rstrip("."), tuple(classes))
    return classes[kind](artifact, config, prefix, dtype)


def load_core(path: str | os.PathLike[str], dtype: npt.DTypeLike = np.float64) -> RuntimeCore:
    """Load a ``"core"`` artifact (a bare CfC/LTC exported by ``export_core``).

    Raises:
        CheckpointError: the file is not a core artifact or is malformed.
    """
    artifact = load_artifact(path)
    if artifact.kind != "core":
        raise CheckpointError(
            f"{artifact.source}: artifact kind is {artifact.kind!r}; expected 'core' "
            "(load policies with RuntimePolicy.load)"
        )
    with artifact.loading():
        config = read_section(artifact.config, "core", "artifact")
        core = build_core(artifact, config, "core.", dtype)
        artifact.check_all_read()
    return core
