"""Torch-free inference of exported liquid policies (numpy only: never import torch here).

``RuntimePolicy.load("policy.npz")`` loads an artifact written by
``liquid-controller export`` and implements the :class:`Policy` protocol;
``load_core`` loads a bare CfC/LTC exported with
``liquid_controller.models.export.export_core``.
"""

from liquid_controller.runtime.artifact import Artifact, load_artifact, save_artifact
from liquid_controller.runtime.core import RuntimeCore, load_core
from liquid_controller.runtime.policy import RuntimePolicy
from liquid_controller.runtime.spec import (
    ActionSpec,
    ImageInput,
    Policy,
    PolicySpec,
    PolicyStep,
    VectorInput,
)

__all__ = [
    "ActionSpec",
    "Artifact",
    "ImageInput",
    "Policy",
    "PolicySpec",
    "PolicyStep",
    "RuntimeCore",
    "RuntimePolicy",
    "VectorInput",
    "load_artifact",
    "load_core",
    "save_artifact",
]
