"""The demo's figures: the driven path on the track, the signals over time, neuron activity.

Each function writes one PNG (matplotlib, Agg backend) and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["lane_edges", "plot_activity", "plot_signals", "plot_top_view"]

FloatArray = npt.NDArray[np.float64]
NEURON_ORDER = ("sensory", "inter", "command", "motor")


def lane_edges(track: Any) -> tuple[FloatArray, FloatArray]:
    """Return the left and right lane edges (inner edges of the markings), closed loops."""
    normals = np.stack([-np.sin(track.headings), np.cos(track.headings)], axis=1)
    left = track.points + track.half_width_m * normals
    right = track.points - track.half_width_m * normals
    return np.vstack([left, left[:1]]), np.vstack([right, right[:1]])


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _shade_events(axis: Any, result: Any, t: FloatArray, fallback: FloatArray) -> None:
    """Shade the camera dropout and mark the ticks on the safe command."""
    if result.dropout_s is not None:
        start, duration = result.dropout_s
        axis.axvspan(start, start + duration, color="tab:orange", alpha=0.15, lw=0)
    if fallback.any():
        axis.plot(t[fallback], np.zeros(fallback.sum()), "|", color="tab:red", ms=8)


def plot_top_view(result: Any, path: Path) -> Path:
    """Draw the track's lane and the driven path, coloured by time, seen from above."""
    plt = _pyplot()
    data = result.trace.arrays()
    track = result.track
    left, right = lane_edges(track)
    figure, axis = plt.subplots(figsize=(7, 5.5))
    centre = np.vstack([track.points, track.points[:1]])
    axis.plot(centre[:, 0], centre[:, 1], "--", color="0.6", lw=1, label="lane centre")
    for edge in (left, right):
        axis.plot(edge[:, 0], edge[:, 1], color="0.2", lw=1.5)
    pose = data["pose"]
    if len(pose):
        points = axis.scatter(pose[:, 0], pose[:, 1], c=data["t_s"], s=3, cmap="viridis")
        figure.colorbar(points, ax=axis, label="time (s)")
        axis.plot(*pose[0, :2], "o", color="tab:green", label="start")
        axis.plot(*pose[-1, :2], "s", color="tab:red", label="end")
        fallback = data["fallback"].astype(bool)
        if fallback.any():
            axis.plot(pose[fallback, 0], pose[fallback, 1], "x", color="tab:red", ms=4,
                      label="safe command")  # fmt: skip
    m = result.metrics
    axis.set_title(f"{track.name}: {m.laps:.2f} laps in {m.survival_s:.1f} s, "
                   f"max |lateral error| {m.max_abs_lateral_m:.3f} m")  # fmt: skip
    axis.set_aspect("equal")
    axis.set_xlabel("x (m)")
    axis.set_ylabel("y (m)")
    axis.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_signals(result: Any, path: Path, actuator_names: tuple[str, ...]) -> Path:
    """Plot lateral error and each command over time: nominal against filtered, limits drawn."""
    plt = _pyplot()
    data = result.trace.arrays()
    t = data["t_s"]
    fallback = data["fallback"].astype(bool)
    half = result.track.half_width_m
    rows = 1 + len(actuator_names)
    figure, axes = plt.subplots(rows, 1, figsize=(9, 2.2 * rows), sharex=True)
    axes[0].plot(t, data["lateral_m"], color="tab:blue")
    for edge in (-half, half):
        axes[0].axhline(edge, color="0.2", lw=1, ls="--")
    axes[0].set_ylabel("lateral error (m)")
    axes[0].set_title("lane edges dashed; camera dropout shaded; | = safe command")
    _shade_events(axes[0], result, t, fallback)
    low, high = result.effort_limits
    for k, (axis, name) in enumerate(zip(axes[1:], actuator_names, strict=True)):
        axis.plot(t, data["nominal"][:, k], color="0.55", lw=1, label="nominal (policy)")
        axis.plot(t, data["command"][:, k], color="tab:purple", lw=1.2, label="filtered")
        axis.axhline(low[k], color="tab:red", lw=1, ls="--", label="limit")
        axis.axhline(high[k], color="tab:red", lw=1, ls="--")
        axis.set_ylabel(f"{name} (N*m)")
        _shade_events(axis, result, t, fallback)
    axes[1].legend(loc="upper right", fontsize=8, ncol=3)
    axes[-1].set_xlabel("time (s)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_activity(result: Any, path: Path) -> Path:
    """Draw every neuron's activity over time, grouped by role (sensory to motor)."""
    plt = _pyplot()
    data = result.trace.arrays()
    activity = data["activity"]
    units = activity.shape[1]
    types = result.neuron_types if len(result.neuron_types) == units else ["neuron"] * units
    rank = {name: i for i, name in enumerate(NEURON_ORDER)}
    order = sorted(range(units), key=lambda i: (rank.get(types[i], len(rank)), i))
    figure, axis = plt.subplots(figsize=(9, 0.25 * max(units, 8) + 1.5))
    t = data["t_s"]
    extent = (t[0], t[-1], units - 0.5, -0.5) if len(t) else None
    finite = activity[np.isfinite(activity)]
    scale = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    image = axis.imshow(
        activity[:, order].T, aspect="auto", cmap="coolwarm", interpolation="nearest",
        extent=extent, vmin=-scale, vmax=scale,
    )  # fmt: skip
    figure.colorbar(image, ax=axis, label="activity")
    axis.set_yticks(range(units), [f"{types[i]} {i}" for i in order], fontsize=7)
    axis.set_xlabel("time (s)")
    axis.set_title(f"neuron activity ({units} neurons)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
