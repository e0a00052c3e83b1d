"""Saliency through the torch network: input gradients and VisualBackProp (needs torch).

Both are computed for a frame ``k`` from the network's hidden state before ``k`` (the
episode replayed up to it).

- **Gradient**: for each actuator ``a``, ``d action_a / d image``; a pixel's saliency is
  ``sum_a max_c |d action_a / d pixel_c|`` (channels by their largest magnitude).
- **VisualBackProp** (Bojarski et al., "VisualBackProp: efficient visualization of CNNs",
  the method of the NCP driving work, Lechner et al. 2020): each conv layer's ReLU output
  is averaged over its channels; from the deepest layer up, the current mask is scaled up
  to the size of the shallower map by a deconvolution with that layer's kernel size and
  stride and all weights 1 (output padding to the exact size), then multiplied pointwise
  with the shallower averaged map; the last deconvolution reaches the input size. The
  mask is normalised to ``[0, 1]`` (all zero stays zero). It reads only the conv
  activations, so it shows what the encoder responds to, not what the command uses.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from liquid_controller.errors import ConfigError
from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.models.policy import LiquidPolicy

__all__ = [
    "TorchFrame",
    "gradient_saliency",
    "hidden_states_before",
    "torch_frames",
    "visual_backprop",
]

FloatArray = npt.NDArray[np.float64]


class TorchFrame:
    """The network at one tick: its state before the tick, the vector inputs and ``dt``.

    Calling it on ``(N, H, W, C)`` uint8 images returns the ``(N, A)`` actions of one step
    from that state (an occlusion evaluator, like the runtime's).
    """

    def __init__(
        self, model: LiquidPolicy, state: torch.Tensor, vector: torch.Tensor, dt_s: float
    ) -> None:
        self.model = model
        self.state = state
        self.vector = vector
        self.dt = torch.tensor([dt_s], dtype=state.dtype)

    def actions(self, images: torch.Tensor) -> torch.Tensor:
        """Return the actions of one step for a batch of images (float, ``[0, 255]``)."""
        n = images.shape[0]
        out = self.model(
            images, self.vector.expand(n, -1), self.state.expand(n, -1), self.dt.expand(n)
        )
        action: torch.Tensor = out.action
        return action

    def __call__(self, images: npt.NDArray[np.uint8]) -> FloatArray:
        """Return the ``(N, A)`` actions for ``(N, H, W, C)`` images, without gradients."""
        with torch.no_grad():
            batch = torch.from_numpy(np.ascontiguousarray(images)).to(self.state.dtype)
            return self.actions(batch).double().numpy()


def _vector(model: LiquidPolicy, episode: ExplainEpisode, tick: int) -> torch.Tensor:
    parts = [np.asarray(episode.observations[v.name][tick]) for v in model.spec.vectors]
    values = np.concatenate(parts) if parts else np.zeros(0)
    return torch.from_numpy(values.astype(np.float64))[None].to(model.vector_mean.dtype)


def hidden_states_before(
    model: LiquidPolicy, episode: ExplainEpisode, frames: Iterable[int]
) -> dict[int, torch.Tensor]:
    """Return the network's ``(1, state_size)`` hidden state before each of ``frames``."""
    wanted = set(frames)
    if any(not 0 <= k < len(episode) for k in wanted):
        raise ConfigError("frames", sorted(wanted), f"tick indices in [0, {len(episode)})")
    states: dict[int, torch.Tensor] = {}
    h = model.initial_state(1)
    dtype = model.vector_mean.dtype
    with torch.no_grad():
        for tick in range(max(wanted) + 1 if wanted else 0):
            if tick in wanted:
                states[tick] = h.clone()
            image = None
            if model.encoder is not None:
                image = torch.from_numpy(np.array(episode.observations["image"][tick]))[None]
            dt = torch.tensor([float(episode.dt_s[tick])], dtype=dtype)
            h = model(image, _vector(model, episode, tick), h, dt).state
    return states


def torch_frames(
    model: LiquidPolicy, episode: ExplainEpisode, frames: Iterable[int]
) -> dict[int, TorchFrame]:
    """Return a :class:`TorchFrame` for each of ``frames`` of ``episode``."""
    model.eval()
    return {
        tick: TorchFrame(model, state, _vector(model, episode, tick), float(episode.dt_s[tick]))
        for tick, state in hidden_states_before(model, episode, frames).items()
    }


def gradient_saliency(frame: TorchFrame, image: npt.NDArray[np.uint8]) -> FloatArray:
    """Return the ``(H, W)`` gradient saliency of ``image`` at ``frame`` (module docstring)."""
    pixels = torch.from_numpy(np.array(image)).to(frame.state.dtype)[None].requires_grad_(True)
    action = frame.actions(pixels)[0]
    saliency = torch.zeros(image.shape[:2], dtype=torch.float64)
    for index in range(action.shape[0]):
        (grad,) = torch.autograd.grad(action[index], pixels, retain_graph=True)
        saliency += grad[0].abs().amax(dim=2).double()
    return saliency.numpy()


def visual_backprop(model: LiquidPolicy, image: npt.NDArray[np.uint8]) -> FloatArray:
    """Return the ``(H, W)`` VisualBackProp mask of ``image`` in ``[0, 1]`` (module docstring).

    Raises:
        ConfigError: the policy has no camera encoder.
    """
    encoder = model.encoder
    if encoder is None:
        raise ConfigError("model", "no camera input", "a policy with a camera encoder")
    with torch.no_grad():
        x = torch.from_numpy(np.array(image))[None].to(encoder.image_mean.dtype) / 255.0
        x = ((x - encoder.image_mean) / encoder.image_std).permute(0, 3, 1, 2)
        convs: list[nn.Conv2d] = []
        averaged: list[torch.Tensor] = []
        for module in encoder.convs:
            x = module(x)
            if isinstance(module, nn.Conv2d):
                convs.append(module)
            elif isinstance(module, nn.ReLU):
                averaged.append(x.mean(dim=1, keepdim=True))
        sizes = [tuple(image.shape[:2])] + [tuple(a.shape[2:]) for a in averaged[:-1]]
        mask = averaged[-1]
        for layer in range(len(convs) - 1, -1, -1):
            kernel, stride = convs[layer].kernel_size, convs[layer].stride
            target = sizes[layer]
            natural = [(mask.shape[2 + i] - 1) * stride[i] + kernel[i] for i in range(2)]
            ones = torch.ones(1, 1, *kernel, dtype=mask.dtype)
            padding = tuple(target[i] - natural[i] for i in range(2))
            mask = F.conv_transpose2d(mask, ones, stride=stride, output_padding=padding)
            if layer > 0:
                mask = mask * averaged[layer - 1]
        result = mask[0, 0].double().numpy()
    low, high = float(result.min()), float(result.max())
    if high - low <= 0.0:
        return np.zeros_like(result) if high == 0.0 else np.ones_like(result)
    return (result - low) / (high - low)
