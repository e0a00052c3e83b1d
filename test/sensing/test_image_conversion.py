"""sensing.image: camera messages to RGB, checked against a per-pixel reference encoder."""

from __future__ import annotations

import array
import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image as PILImage
from rosbags.typesys import Stores, get_typestore

from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.sensing import (
    DEFAULT_MAX_PIXELS,
    RAW_ENCODINGS,
    compressed_image_to_rgb,
    image_to_rgb,
    raw_image_to_rgb,
    resize_rgb,
)

TYPES = get_typestore(Stores.ROS2_JAZZY).types
Image = TYPES["sensor_msgs/msg/Image"]
CompressedImage = TYPES["sensor_msgs/msg/CompressedImage"]
Header = TYPES["std_msgs/msg/Header"]
Time = TYPES["builtin_interfaces/msg/Time"]

BYTES_PER_PIXEL = {
    "rgb8": 3,
    "bgr8": 3,
    "rgba8": 4,
    "bgra8": 4,
    "mono8": 1,
    "mono16": 2,
    "16UC1": 2,
}


def encode_reference(
    values: np.ndarray, encoding: str, padding: int = 0, big_endian: bool = False
) -> tuple[bytes, np.ndarray]:
    """Encode pixel values into message bytes one pixel at a time; return (data, expected RGB).

    ``values`` is (H, W, 4) uint16: R, G, B, A for colour encodings; channel 0 is
    the grey value for mono (8- or 16-bit).
    """
    height, width = values.shape[:2]
    expected = np.zeros((height, width, 3), dtype=np.uint8)
    rows = []
    for r in range(height):
        row = bytearray()
        for c in range(width):
            red, green, blue, alpha = (int(v) & 0xFF for v in values[r, c])
            grey16 = int(values[r, c, 0])
            if encoding in ("rgb8", "bgr8", "rgba8", "bgra8"):
                colour = [red, green, blue] if encoding.startswith("rgb") else [blue, green, red]
                row += bytes(colour + ([alpha] if encoding.endswith("a8") else []))
                expected[r, c] = (red, green, blue)
            elif encoding == "mono8":
                row.append(red)
                expected[r, c] = (red, red, red)
            else:
                row += grey16.to_bytes(2, "big" if big_endian else "little")
                expected[r, c] = (grey16 // 256,) * 3
        row += bytes([0xAB] * padding)
        rows.append(bytes(row))
    return b"".join(rows), expected


def make_image(encoding, height, width, data, step=None, big_endian=False):
    step = width * BYTES_PER_PIXEL.get(encoding, 3) if step is None else step
    return Image(
        header=Header(stamp=Time(sec=0, nanosec=0), frame_id="camera"),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=int(big_endian),
        step=step,
        data=data,
    )


def reference_message(values, encoding, padding=0, big_endian=False):
    data, expected = encode_reference(values, encoding, padding, big_endian)
    height, width = values.shape[:2]
    step = width * BYTES_PER_PIXEL[encoding] + padding
    msg = make_image(encoding, height, width, np.frombuffer(data, np.uint8), step, big_endian)
    return msg, expected


KNOWN = np.array(
    [
        [[255, 0, 0, 10], [0, 255, 0, 20], [0, 0, 255, 30]],
        [[1, 2, 3, 40], [200, 100, 50, 50], [0x1234, 0xFF, 0xFE, 60]],
    ],
    dtype=np.uint16,
)


@pytest.mark.parametrize("encoding", RAW_ENCODINGS)
def test_each_encoding_matches_known_pixels(encoding):
    msg, expected = reference_message(KNOWN, encoding)
    np.testing.assert_array_equal(raw_image_to_rgb(msg), expected)


def test_known_pixel_values_spelled_out():
    # bgr8 pixel (B=3, G=2, R=1) -> RGB (1, 2, 3); mono16 0x1234 little-endian -> 0x12.
    bgr = make_image("bgr8", 1, 1, np.array([3, 2, 1], np.uint8))
    np.testing.assert_array_equal(image_to_rgb(bgr), [[[1, 2, 3]]])
    mono16 = make_image("mono16", 1, 1, np.array([0x34, 0x12], np.uint8))
    np.testing.assert_array_equal(image_to_rgb(mono16), [[[0x12, 0x12, 0x12]]])
    mono16_be = make_image("16UC1", 1, 1, np.array([0x12, 0x34], np.uint8), big_endian=True)
    np.testing.assert_array_equal(image_to_rgb(mono16_be), [[[0x12, 0x12, 0x12]]])
    bgra = make_image("bgra8", 1, 1, np.array([30, 20, 10, 99], np.uint8))
    np.testing.assert_array_equal(image_to_rgb(bgra), [[[10, 20, 30]]])


@pytest.mark.parametrize("encoding", ["rgb8", "bgra8", "mono8", "mono16"])
def test_row_padding_is_skipped(encoding):
    msg, expected = reference_message(KNOWN, encoding, padding=5)
    assert msg.step > msg.width * BYTES_PER_PIXEL[encoding]
    np.testing.assert_array_equal(raw_image_to_rgb(msg), expected)


@pytest.mark.parametrize("big_endian", [False, True])
def test_mono16_endianness(big_endian):
    values = np.zeros((2, 3, 4), np.uint16)
    values[..., 0] = [[0x0000, 0x00FF, 0x0100], [0x7FFF, 0x8000, 0xFFFF]]
    msg, expected = reference_message(values, "mono16", big_endian=big_endian)
    out = raw_image_to_rgb(msg)
    np.testing.assert_array_equal(out[..., 0], [[0, 0, 1], [0x7F, 0x80, 0xFF]])
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "wrap",
    [bytes, bytearray, lambda b: array.array("B", b), list, lambda b: np.frombuffer(b, np.uint8)],
    ids=["bytes", "bytearray", "array.array", "list", "ndarray"],
)
def test_data_container_types(wrap):
    data, expected = encode_reference(KNOWN, "bgr8", padding=2)
    msg = make_image("bgr8", 2, 3, wrap(data), step=11)
    np.testing.assert_array_equal(raw_image_to_rgb(msg), expected)


def test_output_is_a_fresh_writable_array():
    data = np.arange(2 * 3 * 3, dtype=np.uint8)
    out = raw_image_to_rgb(make_image("rgb8", 2, 3, data))
    assert out.flags.writeable and out.flags.c_contiguous
    assert not np.shares_memory(out, data)
    out[...] = 0
    assert data[5] == 5


@st.composite
def raw_messages(draw):
    encoding = draw(st.sampled_from(RAW_ENCODINGS))
    height = draw(st.integers(1, 6))
    width = draw(st.integers(1, 6))
    padding = draw(st.integers(0, 7))
    big_endian = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).integers(0, 2**16, (height, width, 4), dtype=np.uint16)
    return reference_message(values, encoding, padding, big_endian)


@given(raw_messages())
def test_random_raw_images_match_reference(case):
    msg, expected = case
    np.testing.assert_array_equal(image_to_rgb(msg), expected)


@given(raw_messages(), st.integers(1, 9), st.integers(1, 9))
def test_fused_resize_equals_convert_then_resize(case, height, width):
    msg, _ = case
    fused = image_to_rgb(msg, size=(height, width))
    np.testing.assert_array_equal(fused, resize_rgb(image_to_rgb(msg), height, width))


def test_resize_matches_torch_antialiased_bilinear():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for height, width in [(7, 20), (24, 32), (96, 100)]:
        ours = resize_rgb(image, height, width).astype(np.int16)
        tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float()
        reference = functional.interpolate(
            tensor, size=(height, width), mode="bilinear", antialias=True, align_corners=False
        )
        theirs = reference[0].permute(1, 2, 0).round().clamp(0, 255).numpy().astype(np.int16)
        assert np.abs(ours - theirs).max() <= 1, (height, width)


def test_resize_keeps_constant_images_constant_and_copies():
    image = np.full((480, 640, 3), 77, np.uint8)
    small = resize_rgb(image, 66, 200)
    assert small.shape == (66, 200, 3)
    assert (small == 77).all()
    same = resize_rgb(image, 480, 640)
    assert not np.shares_memory(same, image)


def encode_with_pillow(array_or_image, codec, **options):
    image = (
        array_or_image
        if isinstance(array_or_image, PILImage.Image)
        else PILImage.fromarray(array_or_image)
    )
    stream = io.BytesIO()
    image.save(stream, format=codec, **options)
    return np.frombuffer(stream.getvalue(), np.uint8)


def compressed(fmt, data):
    return CompressedImage(
        header=Header(stamp=Time(sec=0, nanosec=0), frame_id="camera"), format=fmt, data=data
    )


@pytest.mark.parametrize("fmt", ["png", "rgb8; png compressed bgr8", "bgr8; png compressed rgb8"])
def test_png_round_trip_is_exact(fmt):
    rgb = np.random.default_rng(1).integers(0, 256, (12, 17, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        image_to_rgb(compressed(fmt, encode_with_pillow(rgb, "PNG"))), rgb
    )


@pytest.mark.parametrize("fmt", ["jpeg", "rgb8; jpeg compressed bgr8", "JPEG"])
def test_jpeg_round_trip_is_close(fmt):
    y, x = np.mgrid[0:32, 0:48]
    rgb = np.stack([x * 5, y * 7, (x + y) * 2], axis=-1).astype(np.uint8)
    decoded = compressed_image_to_rgb(compressed(fmt, encode_with_pillow(rgb, "JPEG", quality=95)))
    assert decoded.shape == rgb.shape
    assert np.abs(decoded.astype(int) - rgb).mean() < 2.0


def test_png_grey_alpha_and_16_bit():
    grey = np.array([[0, 128, 255]], np.uint8)
    out = image_to_rgb(compressed("png", encode_with_pillow(grey, "PNG")))
    np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=2))

    rgba = np.array([[[10, 20, 30, 0], [40, 50, 60, 255]]], np.uint8)
    out = image_to_rgb(compressed("png", encode_with_pillow(rgba, "PNG")))
    np.testing.assert_array_equal(out, rgba[..., :3])

    wide = np.array([[0x0000, 0x12FF, 0xFFFF]], np.uint16)
    image16 = PILImage.frombytes("I;16", (3, 1), wide.astype("<u2").tobytes())
    out = image_to_rgb(compressed("mono16; png compressed", encode_with_pillow(image16, "PNG")))
    np.testing.assert_array_equal(out[..., 0], [[0x00, 0x12, 0xFF]])


def test_jpeg_draft_decodes_close_to_the_full_decode():
    y, x = np.mgrid[0:240, 0:320]
    rgb = np.stack([x * 0.8, y, (x + y) * 0.4], axis=-1).astype(np.uint8)
    msg = compressed("jpeg", encode_with_pillow(rgb, "JPEG", quality=90))
    full = image_to_rgb(msg, size=(40, 60)).astype(int)
    draft = image_to_rgb(msg, size=(40, 60), jpeg_draft=True).astype(int)
    assert draft.shape == full.shape == (40, 60, 3)
    assert not np.array_equal(draft, full)  # the reduced-scale decode did happen
    assert np.abs(draft - full).max() <= 8 and np.abs(draft - full).mean() < 1.0
    png = compressed("png", encode_with_pillow(rgb, "PNG"))
    np.testing.assert_array_equal(
        image_to_rgb(png, size=(40, 60), jpeg_draft=True), resize_rgb(rgb, 40, 60)
    )


def test_compressed_resize_equals_decode_then_resize():
    rgb = np.random.default_rng(2).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    msg = compressed("png", encode_with_pillow(rgb, "PNG"))
    np.testing.assert_array_equal(image_to_rgb(msg, size=(9, 13)), resize_rgb(rgb, 9, 13))


@pytest.mark.parametrize(
    ("msg", "field", "match"),
    [
        (make_image("yuv422", 2, 2, bytes(8), step=4), "encoding", r"'yuv422'.*rgb8, bgr8"),
        (make_image("rgb8", 2, 2, bytes(11)), "data", r"got 11 bytes; expected .* = 12"),
        (make_image("rgb8", 2, 2, bytes(13)), "data", r"got 13 bytes"),
        (make_image("rgb8", 2, 2, bytes(10), step=5), "step", r"got 5; expected at least .* = 6"),
        (make_image("mono8", 0, 4, bytes(0), step=4), "height", r"got 0; expected an integer >= 1"),
        (make_image("mono8", 2, 0, bytes(0), step=0), "width", r"got 0"),
        (make_image("mono8", 1, 2, [1, 300]), "data", r"integers 0\.\.255"),
        (make_image("mono8", 1, 2, np.array([1, 2], np.uint16)), "data", r"uint16; expected uint8"),
        (make_image("mono8", 1, 2, array.array("H", [1, 2])), "data", r"2-byte items"),
        (make_image("mono8", 1, 2, 12), "data", r"got int; expected bytes"),
    ],
    ids=[
        "unknown-encoding",
        "data-short",
        "data-long",
        "step-too-small",
        "zero-height",
        "zero-width",
        "list-out-of-range",
        "wrong-dtype",
        "wide-buffer",
        "not-a-buffer",
    ],
)
def test_raw_errors_name_the_field(msg, field, match):
    with pytest.raises(MessageConversionError, match=match) as info:
        image_to_rgb(msg)
    assert info.value.field == field
    assert f"field '{field}'" in str(info.value)


def test_compressed_errors_name_the_field():
    png = encode_with_pillow(np.zeros((2, 2, 3), np.uint8), "PNG")
    cases = [
        (compressed("jpeg", np.frombuffer(b"not an image", np.uint8)), "data", "do not decode"),
        (compressed("jpeg", png), "data", "do not decode as JPEG"),
        (compressed("png", png[: len(png) // 2]), "data", "do not decode as PNG"),
        (compressed("png", np.zeros(0, np.uint8)), "data", "got 0 bytes"),
        (compressed("tiff", png), "format", "got 'tiff'"),
        (compressed("", png), "format", "got ''"),
        (compressed("16UC1; compressedDepth png", png), "format", "compressedDepth"),
    ]
    for msg, field, match in cases:
        with pytest.raises(MessageConversionError, match=match) as info:
            image_to_rgb(msg)
        assert info.value.field == field


def test_neither_image_kind_and_bad_sizes():
    with pytest.raises(MessageConversionError, match="neither 'encoding'") as info:
        image_to_rgb(object())
    assert info.value.field == "encoding"
    msg, _ = reference_message(KNOWN, "rgb8")
    with pytest.raises(ConfigError, match=r"config key 'size'.*\(height, width\)"):
        image_to_rgb(msg, size=(0, 5))
    with pytest.raises(ConfigError, match="config key 'size'"):
        raw_image_to_rgb(msg, size=(2.5, 5))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"config key 'image'.*\(H, W, 3\) uint8"):
        resize_rgb(np.zeros((4, 4), np.uint8), 2, 2)


def test_missing_field_is_named():
    class NoStep:
        encoding = "rgb8"
        height = 1
        width = 1
        is_bigendian = 0
        data = b"\x00\x00\x00"

    with pytest.raises(MessageConversionError, match="missing on NoStep") as info:
        image_to_rgb(NoStep())
    assert info.value.field == "step"


def test_a_compressed_image_larger_than_the_cap_is_refused_before_decoding():
    # 25 megapixels in a few kB: a 1-bit PNG, past the default cap of 12.6 MP.
    bomb = encode_with_pillow(PILImage.new("1", (5000, 5000)), "PNG")
    assert bomb.size < 100_000
    with pytest.raises(MessageConversionError, match=r"declares 5000x5000 pixels") as info:
        image_to_rgb(compressed("png", bomb), (66, 200))
    assert info.value.field == "data"
    assert str(DEFAULT_MAX_PIXELS) in str(info.value)


def test_the_pixel_cap_is_a_parameter_and_admits_images_up_to_it():
    jpeg = compressed("jpeg", encode_with_pillow(np.zeros((30, 40, 3), np.uint8), "JPEG"))
    assert compressed_image_to_rgb(jpeg, max_pixels=30 * 40).shape == (30, 40, 3)
    with pytest.raises(MessageConversionError, match=r"declares 40x30 pixels \(1200\)"):
        compressed_image_to_rgb(jpeg, max_pixels=30 * 40 - 1)


def test_crop_cuts_each_side_before_the_resize():
    rgb = np.random.default_rng(3).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    msg = compressed("png", encode_with_pillow(rgb, "PNG"))
    np.testing.assert_array_equal(image_to_rgb(msg, crop=(1, 2, 3, 4)), rgb[1:8, 3:8])
    np.testing.assert_array_equal(
        image_to_rgb(msg, (3, 2), crop=(1, 2, 3, 4)), resize_rgb(rgb[1:8, 3:8], 3, 2)
    )
    with pytest.raises(MessageConversionError, match="leaves nothing after the crop") as info:
        image_to_rgb(msg, (3, 2), crop=(5, 5, 0, 0))
    assert info.value.field == "height/width"
