"""Size caps on model files and the networks they describe (numpy-free, shared by both loaders).

A checkpoint or artifact is data that travels between machines, so a loader
must never let a number in a file decide how much memory or time it spends.
Every size a file declares is checked against these caps *before* anything
is allocated or built; together with the rule that every declared tensor
shape must match the stored tensor, the memory a load takes is bounded by a
small multiple of the file's size, and the file's size is bounded here.

Each cap is far above the package's default policy (66x200 camera, 5 convs of
at most 64 channels, 32 features, 19 neurons, 0.7 MB) and above realistic
robot policies (a 640x480 RGB camera, 64-channel stride-1 first layer,
hundreds of neurons: tens of MB); a model above a cap is rejected with an
error naming the key, the value and the cap.
"""

from __future__ import annotations

from collections.abc import Sequence

from liquid_controller.errors import ConfigError

__all__ = [
    "MAX_ARTIFACT_ENTRIES",
    "MAX_CONV_CHANNELS",
    "MAX_CONV_LAYERS",
    "MAX_CORE_UNITS",
    "MAX_ENCODER_ELEMENTS",
    "MAX_HIDDEN_LAYERS",
    "MAX_IMAGE_CHANNELS",
    "MAX_IMAGE_SIDE",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LAYER_WIDTH",
    "MAX_MODEL_BYTES",
    "MAX_ODE_UNFOLDS",
    "check_conv_stack",
    "check_size",
]

MAX_MODEL_BYTES = 1 << 30
"""Largest model file (checkpoint or artifact) on disk, and largest total *decompressed*
size of an artifact's entries: 1 GiB. Realistic policies are 1-100 MB; the cap keeps a
compressed archive (a 4.8 MB zip can hold 4 GiB of zeros) from expanding without bound."""

MAX_ARTIFACT_ENTRIES = 4096
"""Most entries in an artifact archive (the default policy has about 50): bounds the
zip directory the reader parses before anything else."""

MAX_JSON_BYTES = 32 << 20
"""Largest JSON document in a model file (config, spec, metadata): 32 MiB. The wiring's two
adjacency matrices dominate a config; a 1,000-neuron NCP's are about 6 MB of JSON."""

MAX_JSON_DEPTH = 64
"""Deepest JSON nesting accepted (the package writes at most 6 levels): deeper documents
would exhaust the interpreter's recursion limit in the parser or in later copies."""

MAX_IMAGE_SIDE = 4096
"""Largest camera image height or width in a spec, in pixels (the default is 66x200)."""

MAX_IMAGE_CHANNELS = 16
"""Most image channels in a spec (RGB is 3; room for stacked frames or extra sensors)."""

MAX_CONV_LAYERS = 32
"""Most convolution layers in a camera encoder (the default has 5)."""

MAX_CONV_CHANNELS = 4096
"""Most output channels of one convolution (the default's widest has 64)."""

MAX_ENCODER_ELEMENTS = 1 << 26
"""Most float elements the camera encoder's buffers may hold, summed over layers: every
layer's output map plus one im2col row of its input (67 M elements, 256 MiB in float32).
The default encoder needs 0.13 M; a 640x480 camera with a 64-channel stride-1 first
layer about 20 M. Weight shapes alone do not bound this: the image size multiplies it."""

MAX_LAYER_WIDTH = 1 << 16
"""Widest vector a config may declare (encoder features, core input, hidden or projection
widths): 65,536. Every config integer that sizes a buffer is capped at least this tightly."""

MAX_CORE_UNITS = 1024
"""Most neurons in a core (liquid controllers in use have 19-256). Wirings hold
``units x units`` matrices that their constructors fill in Python loops (a fully connected
wiring of 1,024 neurons takes about 17 s to build on a slow core), and the LTC runtime
several ``units x units`` float64 planes (about 50 MB at this cap)."""

MAX_HIDDEN_LAYERS = 32
"""Most hidden layers in a core's backbone or feed-forward stack (defaults: 1-2)."""

MAX_ODE_UNFOLDS = 256
"""Most LTC solver unfolds per step (ncps's default is 6): each unfold is six numpy calls
in every control tick, so an unbounded count would stall the control loop."""


def check_size(key: str, value: object, cap: int, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer in ``[minimum, cap]``; else raise naming ``key``.

    Raises:
        ConfigError: ``value`` is not an integer (booleans excluded) or out of range.
    """
    number = None if isinstance(value, bool) else getattr(value, "__index__", None)
    if number is None or not minimum <= number() <= cap:
        raise ConfigError(key, value, f"an integer in [{minimum}, {cap}]")
    return int(number())


def check_conv_stack(
    key: str, image: tuple[int, int, int], layers: Sequence[Sequence[object]]
) -> tuple[int, int, int]:
    """Check a camera encoder's conv stack against the caps; return its output ``(h, w, c)``.

    Args:
        key: config path of the layer list, e.g. ``"image_encoder.conv_layers"``.
        image: input ``(height, width, channels)``, already within the image caps.
        layers: ``[out_channels, kernel, stride]`` per layer (unpadded convolutions).

    Raises:
        ConfigError: naming the layer that is malformed, does not fit its input, or
            takes the encoder's buffers past :data:`MAX_ENCODER_ELEMENTS`.
    """
    if not isinstance(layers, Sequence) or isinstance(layers, str) or not layers:
        raise ConfigError(key, layers, "a non-empty list of [out_channels, kernel, stride]")
    if len(layers) > MAX_CONV_LAYERS:
        raise ConfigError(key, f"{len(layers)} layers", f"at most {MAX_CONV_LAYERS} layers")
    height, width, channels = image
    total = height * width * channels
    for index, layer in enumerate(layers):
        where = f"{key}[{index}]"
        if not isinstance(layer, Sequence) or isinstance(layer, str) or len(layer) != 3:
            raise ConfigError(where, layer, "[out_channels, kernel, stride]")
        out_c = check_size(where, layer[0], MAX_CONV_CHANNELS)
        kernel = check_size(where, layer[1], MAX_IMAGE_SIDE)
        stride = check_size(where, layer[2], MAX_IMAGE_SIDE)
        if kernel > height or kernel > width:
            raise ConfigError(where, list(layer), f"a kernel that fits its {height}x{width} input")
        height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
        total += height * width * out_c + width * kernel * kernel * channels
        if total > MAX_ENCODER_ELEMENTS:
            raise ConfigError(
                where,
                list(layer),
                f"layers whose buffers total at most {MAX_ENCODER_ELEMENTS} elements "
                f"(this layer brings the encoder to {total})",
            )
        channels = out_c
    return height, width, channels
