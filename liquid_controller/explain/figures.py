"""The explanation's figures (matplotlib, Agg): activity, raster, wiring graph, saliency.

Each function returns a matplotlib figure; :mod:`liquid_controller.explain.report` embeds
them as PNGs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.explain.rollout import Rollout
from liquid_controller.models.wiring import Wiring

__all__ = [
    "activity_figure",
    "pyplot",
    "raster_axes",
    "raster_figure",
    "saliency_figure",
    "type_panels",
    "wiring_figure",
]

TYPE_ORDER = ("sensory", "inter", "command", "motor", "unit")
TYPE_COLOURS = {
    "sensory": "tab:green",
    "inter": "tab:blue",
    "command": "tab:orange",
    "motor": "tab:red",
    "unit": "tab:purple",
}


def pyplot() -> Any:
    """Return ``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ordered(neuron_types: Sequence[str]) -> list[int]:
    """Neuron ids grouped by type (inter, command, motor, ...), ids ascending within."""
    rank = {name: i for i, name in enumerate(TYPE_ORDER)}
    return sorted(range(len(neuron_types)), key=lambda i: (rank.get(neuron_types[i], 9), i))


def type_panels(
    axes: Sequence[Any], t: npt.NDArray[np.float64], activity: Any, neuron_types: Sequence[str]
) -> None:
    """Draw every neuron's trace, one axis per present type (``axes`` in :data:`TYPE_ORDER`)."""
    present = [kind for kind in TYPE_ORDER if kind in neuron_types]
    for ax, kind in zip(axes, present, strict=True):
        for i in [i for i, role in enumerate(neuron_types) if role == kind]:
            ax.plot(t, activity[:, i], lw=0.8, color=TYPE_COLOURS[kind], alpha=0.7)
        ax.set_ylabel(f"{kind}\nneurons")


def raster_axes(
    fig: Any, ax: Any, t: npt.NDArray[np.float64], activity: Any, neuron_types: Sequence[str]
) -> None:
    """Draw every neuron's activity as one row of a heat map, grouped and labelled by type."""
    order = _ordered(neuron_types)
    limit = float(np.abs(activity).max()) or 1.0
    image = ax.imshow(
        activity[:, order].T,
        aspect="auto",
        cmap="coolwarm",
        vmin=-limit,
        vmax=limit,
        extent=(float(t[0]), float(t[-1]) if len(t) > 1 else 1.0, len(order) - 0.5, -0.5),
        interpolation="nearest",
    )
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([f"{neuron_types[i]} {i}" for i in order], fontsize=6)
    for tick, i in zip(ax.get_yticklabels(), order, strict=True):
        tick.set_color(TYPE_COLOURS.get(neuron_types[i], "black"))
    fig.colorbar(image, ax=ax, label="activity")


def activity_figure(
    episode: ExplainEpisode,
    rollout: Rollout,
    neuron_types: Sequence[str],
    vectors: Mapping[str, Sequence[str]],
    action_names: Sequence[str],
) -> Any:
    """Inputs, sensory features, every neuron's trace (a panel per type) and the command."""
    plt = pyplot()
    types = len({kind for kind in TYPE_ORDER if kind in neuron_types})
    sensory = rollout.sensory.shape[1] > 0
    rows = len(vectors) + sensory + types + 1
    fig, axes = plt.subplots(rows, 1, figsize=(11, 1.9 * rows + 0.4), sharex=True, squeeze=False)
    t = episode.t_s - episode.t_s[0]
    for row, (name, fields) in enumerate(vectors.items()):
        ax = axes[row, 0]
        values = np.asarray(episode.observations[name])
        for column, field in enumerate(fields):
            ax.plot(t, values[:, column], lw=0.9, label=field)
        ax.set_ylabel(f"input\n{name}")
        ax.legend(fontsize=6, ncol=3, loc="upper right")
    if sensory:
        ax = axes[len(vectors), 0]
        ax.plot(t, rollout.sensory, lw=0.7, color=TYPE_COLOURS["sensory"], alpha=0.6)
        ax.set_ylabel("sensory\n(core inputs)")
    first = len(vectors) + sensory
    type_panels(axes[first : first + types, 0], t, rollout.activity, neuron_types)
    ax = axes[-1, 0]
    for column, name in enumerate(action_names):
        ax.plot(t, rollout.action[:, column], lw=1.1, label=f"{name} (policy)")
        if episode.recorded_action is not None:
            ax.plot(t, episode.recorded_action[:, column], "--", lw=0.8, label=f"{name} (bag)")
    ax.set_ylabel("command")
    ax.legend(fontsize=6, ncol=2, loc="upper right")
    ax.set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def raster_figure(episode: ExplainEpisode, rollout: Rollout, neuron_types: Sequence[str]) -> Any:
    """Every neuron's activity as one row of a heat map, grouped and labelled by type."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 0.18 * len(neuron_types) + 1.5))
    raster_axes(fig, ax, episode.t_s - episode.t_s[0], rollout.activity, neuron_types)
    ax.set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def wiring_figure(wiring: Wiring, neuron_types: Sequence[str], input_names: Sequence[str]) -> Any:
    """The synapse graph in layers: sensory inputs, then the neurons by type.

    Excitatory synapses (+1) are drawn green, inhibitory (-1) red with a bar end.
    """
    plt = pyplot()
    sensory = wiring.sensory_adjacency_matrix
    inputs = [] if sensory is None else list(range(sensory.shape[0]))
    groups = [[i for i, role in enumerate(neuron_types) if role == kind] for kind in TYPE_ORDER]
    layers = [[("in", i) for i in inputs]] + [[("n", i) for i in g] for g in groups if g]
    layers = [layer for layer in layers if layer]
    place = {
        node: (float(column), (row + 0.5) / len(layer))
        for column, layer in enumerate(layers)
        for row, node in enumerate(layer)
    }
    fig, ax = plt.subplots(figsize=(2.4 * len(layers) + 2, 6))

    def edge(src: tuple[str, int], dest: tuple[str, int], polarity: int) -> None:
        (x0, y0), (x1, y1) = place[src], place[dest]
        style = "-|>" if polarity > 0 else "-["
        colour = "tab:green" if polarity > 0 else "tab:red"
        rad = 0.4 if src == dest or x0 == x1 else 0.0
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": style,
                "color": colour,
                "alpha": 0.45,
                "lw": 0.7,
                "connectionstyle": f"arc3,rad={rad}",
                "shrinkA": 6,
                "shrinkB": 6,
            },
        )

    if sensory is not None:
        for src, dest in zip(*np.nonzero(sensory), strict=True):
            edge(("in", int(src)), ("n", int(dest)), int(sensory[src, dest]))
    adjacency = wiring.adjacency_matrix
    for src, dest in zip(*np.nonzero(adjacency), strict=True):
        edge(("n", int(src)), ("n", int(dest)), int(adjacency[src, dest]))
    for (kind, index), (x, y) in place.items():
        role = "sensory" if kind == "in" else neuron_types[index]
        ax.scatter([x], [y], s=90, color=TYPE_COLOURS.get(role, "grey"), zorder=3)
        label = input_names[index] if kind == "in" and index < len(input_names) else str(index)
        ax.text(x + (-0.08 if kind == "in" else 0.07), y, label, fontsize=6, va="center",
                ha="right" if kind == "in" else "left")  # fmt: skip
    titles = (["sensory"] if inputs else []) + [
        k for k, g in zip(TYPE_ORDER, groups, strict=True) if g
    ]
    for column, title in enumerate(titles):
        ax.text(column, 1.04, title, ha="center", fontsize=9, color=TYPE_COLOURS.get(title))
    ax.set_xlim(-0.8, len(layers) - 0.3)
    ax.set_ylim(-0.03, 1.08)
    ax.axis("off")
    ax.set_title("wiring: green excitatory (+1), red inhibitory (-1)", fontsize=9)
    fig.tight_layout()
    return fig


def saliency_figure(
    frames: Sequence[int],
    images: Sequence[npt.NDArray[np.uint8]],
    maps: Mapping[str, Sequence[npt.NDArray[np.float64]]],
    masks: Sequence[npt.NDArray[np.uint8]] | None = None,
) -> Any:
    """One row per frame: the image, then each method's map overlaid on it."""
    plt = pyplot()
    columns = 1 + len(maps) + (1 if masks is not None else 0)
    height, width = images[0].shape[:2]
    panel = 2.8  # inches per column
    fig, axes = plt.subplots(
        len(frames),
        columns,
        figsize=(panel * columns, len(frames) * (panel * height / width + 0.35)),
        squeeze=False,
    )
    for row, (tick, image) in enumerate(zip(frames, images, strict=True)):
        axes[row, 0].imshow(image)
        axes[row, 0].set_title(f"tick {tick}", fontsize=8)
        for column, (method, values) in enumerate(maps.items(), start=1):
            saliency = values[row]
            peak = float(saliency.max())
            axes[row, column].imshow(image)
            axes[row, column].imshow(
                saliency / peak if peak > 0 else saliency, cmap="jet", alpha=0.5, vmin=0, vmax=1
            )
            axes[row, column].set_title(method, fontsize=8)
        if masks is not None:
            axes[row, -1].imshow(masks[row], cmap="viridis", vmin=0, vmax=2)
            axes[row, -1].set_title("labels: other, road, marking", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    return fig
