"""Camera messages to ``(height, width, 3)`` uint8 RGB arrays, without cv_bridge.

Raw ``sensor_msgs/Image`` encodings: ``rgb8``, ``bgr8``, ``rgba8``, ``bgra8``,
``mono8``, ``mono16`` and ``16UC1``. Rows may be padded (``step`` larger than
``width * bytes_per_pixel``); 16-bit data honours ``is_bigendian``.

16-bit to 8-bit rule: the high byte is kept, i.e. ``value >> 8`` (a linear
map of the full 0..65535 range onto 0..255, rounding down). It is the same for
every frame, so a policy sees the same brightness for the same sensor value
(a per-frame min/max stretch would not). Depth cameras that publish
millimetres in ``16UC1`` therefore map 256 mm per grey level.

Alpha channels are dropped (not composited). Grey images are repeated into
the three channels.

``sensor_msgs/CompressedImage`` with JPEG or PNG payloads is decoded with
Pillow; 16-bit PNGs follow the same ``>> 8`` rule. A compressed payload is
small whatever it decodes to (a 230 KB PNG can declare 9000x9000 pixels, 243 MB
decoded), so the size its header declares is checked against ``max_pixels``
(default :data:`DEFAULT_MAX_PIXELS`) before anything is decoded. Raw images need
no such cap: their data already holds every pixel they declare.

The ``data`` field may be ``bytes``, ``bytearray``, ``memoryview``,
``array.array('B')`` (rclpy), a list of ints, or a uint8 ``np.ndarray``
(rosbags). The returned array never shares memory with the message.

Resizing (:func:`resize_rgb`, or ``size=`` on the converters) uses Pillow's
antialiased bilinear filter. Pass ``size=`` in a control loop: the converters
then resize before reordering channels, which gives exactly the pixels of
``resize_rgb(image_to_rgb(msg), ...)`` at about 1.6x the speed for
480x640 -> 66x200 (``bench/bench_sensing.py``).
"""

from __future__ import annotations

import io
import warnings
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage

from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.sensing._fields import get_field, get_int, get_str

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "RAW_ENCODINGS",
    "compressed_image_to_rgb",
    "crop_rgb",
    "image_to_rgb",
    "raw_image_to_rgb",
    "resize_rgb",
]

RgbArray = npt.NDArray[np.uint8]


class _Layout(NamedTuple):
    """How one raw encoding stores a pixel."""

    bytes_per_pixel: int
    # Bytes of a pixel holding the three colours (alpha excluded); None for grey.
    colour_bytes: slice | None
    # True when those bytes are in B, G, R order.
    reverse: bool


_LAYOUTS: dict[str, _Layout] = {
    "rgb8": _Layout(3, slice(0, 3), False),
    "bgr8": _Layout(3, slice(0, 3), True),
    "rgba8": _Layout(4, slice(0, 3), False),
    "bgra8": _Layout(4, slice(0, 3), True),
    "mono8": _Layout(1, None, False),
    "mono16": _Layout(2, None, False),
    "16UC1": _Layout(2, None, False),
}

RAW_ENCODINGS: tuple[str, ...] = tuple(_LAYOUTS)
"""Encodings accepted by :func:`raw_image_to_rgb` (``sensor_msgs/image_encodings.hpp`` names)."""

_COMPRESSED_FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG"}


def _describe(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _byte_buffer(data: Any) -> npt.NDArray[np.uint8]:
    """View the ``data`` field as a flat uint8 array (no copy for buffer types)."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise MessageConversionError("data", f"got an array of {data.dtype}; expected uint8")
        return data.reshape(-1)
    if isinstance(data, (list, tuple)):
        array = np.array(data)
        if array.size == 0:
            return np.zeros(0, dtype=np.uint8)
        if array.ndim != 1 or array.dtype.kind not in "iu" or array.min() < 0 or array.max() > 255:
            raise MessageConversionError(
                "data", f"got {_describe(data)}; expected a sequence of integers 0..255"
            )
        return array.astype(np.uint8)
    try:
        view = memoryview(data)
    except TypeError:
        raise MessageConversionError(
            "data", f"got {type(data).__name__}; expected bytes, array('B'), a list or an ndarray"
        ) from None
    if view.itemsize != 1:
        raise MessageConversionError(
            "data", f"got a buffer of {view.itemsize}-byte items ({view.format!r}); expected bytes"
        )
    return np.frombuffer(view.cast("B") if view.ndim != 1 else view, dtype=np.uint8)


def _raw_planes(msg: object) -> tuple[npt.NDArray[np.uint8], bool]:
    """Validate a raw image and view its colour data without copying.

    Returns:
        ``(planes, reverse)``: a ``(height, width, 3)`` view in the message's
        channel order (``reverse`` is True for BGR) or a ``(height, width)``
        grey view (8-bit, or the high bytes of 16-bit data).
    """
    encoding = get_str(msg, "encoding")
    layout = _LAYOUTS.get(encoding)
    if layout is None:
        raise MessageConversionError(
            "encoding", f"got {encoding!r}; expected one of {', '.join(RAW_ENCODINGS)}"
        )
    height = get_int(msg, "height", minimum=1)
    width = get_int(msg, "width", minimum=1)
    step = get_int(msg, "step")
    row_bytes = width * layout.bytes_per_pixel
    if step < row_bytes:
        raise MessageConversionError(
            "step",
            f"got {step}; expected at least width * {layout.bytes_per_pixel} = {row_bytes} "
            f"for {encoding}",
        )
    buffer = _byte_buffer(get_field(msg, "data"))
    if buffer.size != step * height:
        raise MessageConversionError(
            "data",
            f"got {buffer.size} bytes; expected step * height = {step} * {height} = "
            f"{step * height}",
        )
    pixels = buffer.reshape(height, step)[:, :row_bytes].reshape(
        height, width, layout.bytes_per_pixel
    )
    if layout.colour_bytes is not None:
        return pixels[:, :, layout.colour_bytes], layout.reverse
    if layout.bytes_per_pixel == 1:
        return pixels[:, :, 0], False
    # Keep the most significant byte: value >> 8 (see the module docstring).
    big_endian = bool(get_field(msg, "is_bigendian"))
    return pixels[:, :, 0 if big_endian else 1], False


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate a ``(height, width)`` pair."""
    if (
        not isinstance(size, tuple)
        or len(size) != 2
        or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in size)
    ):
        raise ConfigError("size", size, "a (height, width) tuple of integers >= 1")
    return int(size[0]), int(size[1])


def _resize_planes(planes: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Resize ``(H, W, 3)`` or ``(H, W)`` uint8 data to ``size`` with Pillow's BILINEAR filter.

    Pillow filters each channel independently, so resizing BGR data and
    reversing the channels afterwards gives exactly the pixels of reversing
    first; the same holds for grey data repeated into three channels.
    """
    height, width = size
    if planes.shape[:2] == (height, width):
        return planes
    source = PILImage.fromarray(np.ascontiguousarray(planes))
    resized = source.resize((width, height), PILImage.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def _planes_to_rgb(planes: npt.NDArray[np.uint8], reverse: bool) -> RgbArray:
    """Copy colour planes into a new RGB array, reversing BGR and repeating grey."""
    rgb = np.empty((planes.shape[0], planes.shape[1], 3), dtype=np.uint8)
    if planes.ndim == 2:
        rgb[...] = planes[:, :, np.newaxis]
    else:
        rgb[...] = planes[:, :, ::-1] if reverse else planes
    return rgb


def raw_image_to_rgb(msg: object, size: tuple[int, int] | None = None) -> RgbArray:
    """Convert a ``sensor_msgs/Image`` to RGB, optionally resized.

    Args:
        msg: any object with the fields ``height``, ``width``, ``encoding``,
            ``is_bigendian``, ``step`` and ``data``.
        size: ``(height, width)`` to resize to, or ``None`` to keep the size.
            The result equals ``resize_rgb(raw_image_to_rgb(msg), *size)``
            exactly, but it is faster: the channel shuffle runs on the small
            image.

    Returns:
        A new ``(height, width, 3)`` uint8 array.

    Raises:
        MessageConversionError: unknown encoding, zero size, ``step`` smaller
            than a row, or ``data`` whose length is not ``step * height``.
        ConfigError: ``size`` is not a pair of integers >= 1.
    """
    planes, reverse = _raw_planes(msg)
    if size is not None:
        planes = _resize_planes(planes, _check_size(size))
    return _planes_to_rgb(planes, reverse)


DEFAULT_MAX_PIXELS = 4096 * 3072
"""Largest compressed image decoded by default: 12.6 megapixels (38 MB as RGB).

Above every common robot camera (4K UHD is 8.3 MP), below the 9000x9000 bombs
that take a second and most of a gigabyte to decode in a control callback.
"""


def _decoded_planes(image: PILImage.Image) -> npt.NDArray[np.uint8]:
    """Return a decoded Pillow image of any mode as RGB ``(H, W, 3)`` or grey ``(H, W)``."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image).astype(np.int64)
        grey: npt.NDArray[np.uint8] = np.clip(wide >> 8, 0, 255).astype(np.uint8)
        return grey
    if image.mode == "L":
        return np.asarray(image, dtype=np.uint8)
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)


def compressed_image_to_rgb(
    msg: object,
    size: tuple[int, int] | None = None,
    *,
    jpeg_draft: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> RgbArray:
    """Decode a JPEG or PNG ``sensor_msgs/CompressedImage`` to RGB, optionally resized.

    ``format`` is matched the way image_transport writes it: ``"jpeg"``,
    ``"png"``, or ``"<encoding>; jpeg compressed <encoding>"``; the codec named
    there must match the bytes. The JPEG/PNG payload stores true RGB whatever
    the ``bgr8`` in the format string says (it records OpenCV's channel order
    before encoding), so no channel swap is applied. Alpha is dropped.

    ``jpeg_draft=True`` (with ``size``) lets libjpeg decode a JPEG at 1/2, 1/4
    or 1/8 scale, the smallest that is still at least ``size``, before the
    resize: about 1.7x faster for 480x640 -> 66x200, with pixels within a few
    grey levels of the full decode (mean difference about 0.3). Use the same
    setting for training data and on the robot.

    Args:
        msg: any object with ``format`` and ``data``.
        size: ``(height, width)`` to resize to (as :func:`resize_rgb`), or ``None``.
        jpeg_draft: decode JPEGs at reduced scale first; ignored for PNG or without ``size``.
        max_pixels: the largest width x height the header may declare; checked before
            decoding.

    Returns:
        A new ``(height, width, 3)`` uint8 array.

    Raises:
        MessageConversionError: a format other than JPEG/PNG (e.g.
            ``compressedDepth``), bytes that do not decode, bytes of another
            codec than the one named, or a declared size above ``max_pixels``.
        ConfigError: ``size`` is not a pair of integers >= 1.
    """
    fmt = get_str(msg, "format")
    words = fmt.lower().replace(";", " ").split()
    codecs = {_COMPRESSED_FORMATS[word] for word in words if word in _COMPRESSED_FORMATS}
    if "compresseddepth" in words or len(codecs) != 1:
        raise MessageConversionError(
            "format", f"got {fmt!r}; expected 'jpeg', 'png' or '<enc>; jpeg|png compressed <enc>'"
        )
    (codec,) = codecs
    target = None if size is None else _check_size(size)
    payload = _byte_buffer(get_field(msg, "data"))
    if payload.size == 0:
        raise MessageConversionError("data", f"got 0 bytes; expected a {codec} image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(payload.tobytes()), formats=[codec])
            _check_declared_size(image.size, max_pixels)
            if jpeg_draft and target is not None and codec == "JPEG":
                image.draft(image.mode, (target[1], target[0]))
            image.load()
    except (
        OSError,
        SyntaxError,
        ValueError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ) as err:
        raise MessageConversionError(
            "data", f"{payload.size} bytes do not decode as {codec} (format {fmt!r}): {err}"
        ) from None
    planes = _decoded_planes(image)
    if target is not None:
        planes = _resize_planes(planes, target)
    return _planes_to_rgb(planes, reverse=False)


def _check_declared_size(width_height: tuple[int, int], max_pixels: int) -> None:
    width, height = width_height
    if width * height > max_pixels:
        raise MessageConversionError(
            "data",
            f"the image declares {width}x{height} pixels ({width * height}); expected at "
            f"most {max_pixels} (max_pixels): not decoded",
        )


def image_to_rgb(
    msg: object,
    size: tuple[int, int] | None = None,
    *,
    crop: tuple[int, int, int, int] | None = None,
    jpeg_draft: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> RgbArray:
    """Convert a raw or compressed camera message to RGB, optionally resized.

    Dispatches on the fields present: ``encoding`` means ``sensor_msgs/Image``
    (:func:`raw_image_to_rgb`), otherwise ``format`` means
    ``sensor_msgs/CompressedImage`` (:func:`compressed_image_to_rgb`).

    Args:
        msg: the camera message.
        size: ``(height, width)`` to resize to (as :func:`resize_rgb`), or ``None``.
        crop: ``(top, bottom, left, right)`` pixels cut from the frame before the resize
            (a policy spec's ``image.crop``), or ``None``.
        jpeg_draft: see :func:`compressed_image_to_rgb`; no effect on raw images or
            with ``crop``.
        max_pixels: see :func:`compressed_image_to_rgb`; no effect on raw images.

    Raises:
        MessageConversionError: see the two converters; ``field`` is
            ``"encoding"`` when the object has neither field, ``"height/width"`` when
            the crop leaves no pixel.
        ConfigError: ``size`` is not a pair of integers >= 1.
    """
    if crop is not None:
        full = image_to_rgb(msg, max_pixels=max_pixels)
        cropped = crop_rgb(full, crop)
        return np.ascontiguousarray(cropped) if size is None else resize_rgb(cropped, *size)
    if hasattr(msg, "encoding"):
        return raw_image_to_rgb(msg, size)
    if hasattr(msg, "format"):
        return compressed_image_to_rgb(msg, size, jpeg_draft=jpeg_draft, max_pixels=max_pixels)
    raise MessageConversionError(
        "encoding",
        f"{type(msg).__name__} has neither 'encoding' (Image) nor 'format' (CompressedImage)",
    )


def crop_rgb(image: RgbArray, crop: tuple[int, int, int, int]) -> RgbArray:
    """Return ``image`` without ``(top, bottom, left, right)`` pixels at its sides (a view).

    Raises:
        MessageConversionError: the crop leaves no pixel of this image.
    """
    top, bottom, left, right = crop
    rows, cols = image.shape[0] - bottom, image.shape[1] - right
    if rows <= top or cols <= left:
        raise MessageConversionError(
            "height/width",
            f"a {image.shape[0]}x{image.shape[1]} image leaves nothing after the crop "
            f"(top, bottom, left, right) = {tuple(crop)}",
        )
    return image[top:rows, left:cols]


def resize_rgb(image: RgbArray, height: int, width: int) -> RgbArray:
    """Resize an RGB image with Pillow's antialiased bilinear filter.

    Pillow's ``BILINEAR`` widens the triangle filter by the scale factor when
    shrinking, so every source pixel contributes (no aliasing when going from
    480x640 to 66x200), and it is plain bilinear when enlarging. It matches
    ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)`` to
    within one grey level. Use the same function for training data and on the
    robot so the policy sees identical pixels.

    Args:
        image: ``(H, W, 3)`` uint8 array.
        height: output rows, >= 1.
        width: output columns, >= 1.

    Returns:
        A new ``(height, width, 3)`` uint8 array (a copy even when the size is unchanged).

    Raises:
        ConfigError: ``image`` is not ``(H, W, 3)`` uint8 or a size is < 1.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ConfigError(
            "image", f"shape {image.shape} dtype {image.dtype}", "an (H, W, 3) uint8 array"
        )
    return _planes_to_rgb(_resize_planes(image, _check_size((height, width))), reverse=False)
