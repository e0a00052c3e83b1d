"""Torch-free inference of exported liquid policies (numpy only: never import torch here)."""

from liquid_controller.runtime.spec import (
    ActionSpec,
    ImageInput,
    Policy,
    PolicySpec,
    PolicyStep,
    VectorInput,
)

__all__ = ["ActionSpec", "ImageInput", "Policy", "PolicySpec", "PolicyStep", "VectorInput"]
