"""Build a runtime core (CfC or LTC) from an artifact, and load ``"core"`` artifacts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.artifact import Artifact, load_artifact
from liquid_controller.runtime.cfc import CfCRuntime
from liquid_controller.runtime.config import read_choice, read_section
from liquid_controller.runtime.ltc import LTCRuntime

__all__ = ["RuntimeCore", "build_core", "load_core"]

RuntimeCore = CfCRuntime | LTCRuntime


def build_core(
    artifact: Artifact,
    config: Mapping[str, Any],
    prefix: str = "core.",
    dtype: npt.DTypeLike = np.float64,
) -> RuntimeCore:
    """Build the CfC or LTC runtime described by ``config`` (its ``type`` key)."""
    kind = read_choice(config, "type", prefix.rstrip("."), ("cfc", "ltc"))
    if kind == "cfc":
        return CfCRuntime(artifact, config, prefix, dtype)
    return LTCRuntime(artifact, config, prefix, dtype)


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
    return build_core(artifact, read_section(artifact.config, "core", "artifact"), "core.", dtype)
