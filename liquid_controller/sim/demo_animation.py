"""The demo's animation: the camera image the policy saw beside the top view, as a GIF.

Pillow only (no video codec to install). Frames are the trace's kept camera images (about
10 per simulated second, fewer for long runs), played at :data:`GIF_FPS`; the camera is
upscaled 2x, the top view is drawn on a fixed background of the lane.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from liquid_controller.errors import SimulationError
from liquid_controller.sim.demo_plots import lane_edges

__all__ = ["GIF_FPS", "animation_frames", "write_gif"]

GIF_FPS = 10
CAMERA_SCALE = 2
TOP_VIEW_PX = 240
MARGIN_M = 0.5
BACKGROUND = (245, 245, 245)


class _TopView:
    """Maps world metres to the top view's pixels and draws the lane once."""

    def __init__(self, track: Any, size: int) -> None:
        left, right = lane_edges(track)
        low = np.minimum(left.min(axis=0), right.min(axis=0)) - MARGIN_M
        high = np.maximum(left.max(axis=0), right.max(axis=0)) + MARGIN_M
        self.scale = (size - 1) / float(np.max(high - low))
        self.low = low
        self.size = size
        self.background = Image.new("RGB", (size, size), BACKGROUND)
        draw = ImageDraw.Draw(self.background)
        for edge in (left, right):
            draw.line(self.pixels(edge), fill=(40, 40, 40), width=2)
        draw.line(self.pixels(np.vstack([track.points, track.points[:1]])), fill=(170, 170, 170))

    def pixels(self, points: Any) -> list[tuple[float, float]]:
        """Image coordinates of world points (image y grows downwards)."""
        px = (np.asarray(points)[:, :2] - self.low) * self.scale
        return [(float(u), float(self.size - 1 - v)) for u, v in px]


def animation_frames(result: Any) -> list[Image.Image]:
    """Return one image per kept frame: camera (left) and top view with the path so far."""
    data = result.trace.arrays()
    pose, fallback = data["pose"], data["fallback"].astype(bool)
    view = _TopView(result.track, TOP_VIEW_PX)
    path_px = view.pixels(pose) if len(pose) else []
    frames = []
    for index, image in result.trace.frames:
        camera = Image.fromarray(np.asarray(image, dtype=np.uint8), "RGB")
        camera = camera.resize((camera.width * CAMERA_SCALE, camera.height * CAMERA_SCALE),
                               Image.Resampling.NEAREST)  # fmt: skip
        top = view.background.copy()
        draw = ImageDraw.Draw(top)
        if index > 0:
            draw.line(path_px[: index + 1], fill=(30, 110, 200), width=2)
        x, y = path_px[index]
        yaw = pose[index, 2]
        tip = (x + 9 * np.cos(yaw), y - 9 * np.sin(yaw))
        colour = (220, 40, 40) if fallback[index] else (20, 150, 60)
        draw.line([(x, y), tip], fill=colour, width=3)
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        height = max(camera.height, top.height)
        frame = Image.new("RGB", (camera.width + top.width, height), BACKGROUND)
        frame.paste(camera, (0, (height - camera.height) // 2))
        frame.paste(top, (camera.width, (height - top.height) // 2))
        label = f"t = {data['t_s'][index]:5.1f} s" + ("  SAFE COMMAND" if fallback[index] else "")
        ImageDraw.Draw(frame).text((6, 6), label, fill=(200, 30, 30) if fallback[index] else 0)
        frames.append(frame)
    return frames


def write_gif(frames: list[Image.Image], path: Path) -> Path:
    """Write ``frames`` as a looping GIF at :data:`GIF_FPS` (adaptive palette per frame)."""
    if not frames:
        raise SimulationError(f"{path}: no camera frame reached the policy, nothing to animate")
    palette = [
        frame.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        for frame in frames
    ]
    palette[0].save(path, save_all=True, append_images=palette[1:], loop=0,
                    duration=round(1000 / GIF_FPS), optimize=True)  # fmt: skip
    return path
