"""Write ``sim compare``'s results: a Markdown file with tables, its figures and the JSON.

Aggregates over a cell's seeds: departures per km from the summed departures and distance,
the mean of the episodes' mean |lateral error|, the largest max |lateral error|, laps per
episode, limit violations summed, and the share of ticks on which the filter acted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["aggregate", "headline", "write_report"]

CELL_NAMES = {"cfc": "CfC-NCP", "ltc": "LTC-NCP", "lstm": "LSTM", "feedforward": "feed-forward"}


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Combine the per-seed rows of each (cell, condition, safety) into one."""
    keys: list[tuple[str, str, bool]] = []
    for row in rows:
        key = (row["cell"], row["condition"], row["safety"])
        if key not in keys:
            keys.append(key)
    combined = []
    for cell, condition, safety in keys:
        group = [
            r for r in rows if (r["cell"], r["condition"], r["safety"]) == (cell, condition, safety)
        ]  # noqa: E501
        distance = sum(r["distance_m_total"] for r in group)
        departures = sum(r["departures"] for r in group)
        episodes = sum(r["episodes"] for r in group)
        ticks = sum(r["ticks"] for r in group)
        combined.append({
            "cell": cell, "condition": condition, "safety": safety, "episodes": episodes,
            "completed": sum(r["completed"] for r in group),
            "departures_per_km": departures / (distance / 1000) if distance > 0 else float("nan"),
            "mean_abs_lateral_m": float(np.mean([r["mean_abs_lateral_m"] for r in group])),
            "max_abs_lateral_m": max(r["max_abs_lateral_m"] for r in group),
            "laps_per_episode": sum(r["laps_total"] for r in group) / episodes,
            "limit_violations": sum(r["limit_violations"] for r in group),
            "filter_acted": sum(r["interventions"] for r in group) / ticks if ticks else 0.0,
        })  # fmt: skip
    return combined


def headline(document: dict[str, Any]) -> str:
    """One sentence: which cell had the fewest departures per km behind the filter."""
    table = [r for r in aggregate(document["closed_loop"]) if r["safety"]]
    scores = {}
    for cell in dict.fromkeys(r["cell"] for r in table):
        values = [r["departures_per_km"] for r in table if r["cell"] == cell]
        laps = [r["laps_per_episode"] for r in table if r["cell"] == cell]
        scores[cell] = (float(np.nanmean(values)) if np.isfinite(values).any() else float("inf"),
                        float(np.mean(laps)))  # fmt: skip
    ranked = sorted(scores, key=lambda c: (scores[c][0], -scores[c][1]))
    parts = [f"{CELL_NAMES[c]} {scores[c][0]:.0f}/km ({scores[c][1]:.2f} laps)" for c in ranked]
    return ("With the safety filter, averaged over the test conditions, lane departures per "
            "km (laps per episode) ranked: " + ", ".join(parts) + ".")  # fmt: skip


def write_report(document: dict[str, Any], path: Path, *, reduced: str | None) -> list[Path]:
    """Write ``path`` (Markdown), ``path``'s JSON twin and the figures beside it.

    Args:
        document: what :func:`~liquid_controller.sim.compare.compare` returned.
        path: the Markdown file (e.g. ``bench/results/closed_loop.md``).
        reduced: why the budget is smaller than the full comparison's, or ``None``.
    """
    figures = path.parent / path.stem
    figures.mkdir(parents=True, exist_ok=True)
    written = [_plot_cost(document, figures / "cost.png"),
               _plot_conditions(document, figures / "closed_loop.png")]  # fmt: skip
    json_path = path.with_suffix(".json")
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    path.write_text(_markdown(document, figures, reduced), encoding="utf-8")
    return [path, json_path, *written]


def _markdown(document: dict[str, Any], figures: Path, reduced: str | None) -> str:
    budget = document["budget"]
    lines = ["# Closed-loop comparison: liquid networks against LSTM and CNN", ""]
    if reduced:
        lines += [f"**Reduced run** ({reduced}): too small a budget to rank the cells with "
                  "confidence; the full comparison is the command's defaults.", ""]  # fmt: skip
    lines += [
        "Made by `liquid-controller sim compare` (liquid_controller/sim/compare.py) from "
        f"`{document['config']}`: every cell trained on the same dataset with the same encoder "
        f"and budget (at most {budget['epochs']} epoch(s), {budget['seeds']} weight seed(s)), "
        "exported to the torch-free runtime, then driven on "
        f"{', '.join(budget['tracks'])} ({budget['episodes']} world seed(s), "
        f"{budget['laps']:g} lap(s) or {budget['max_seconds']:g} s) per condition, with and "
        f"without the safety filter (config/sim_safety.yaml). Wall time "
        f"{document['wall_s'] / 60:.0f} min.",
        "",
        headline(document),
        "",
        "## Cost",
        "",
        "| cell | parameters | recurrent part | training time (s) | epochs | validation loss "
        "| runtime step (us) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in dict.fromkeys(m["cell"] for m in document["models"]):
        group = [m for m in document["models"] if m["cell"] == cell]
        lines.append(
            f"| {CELL_NAMES[cell]} | {group[0]['parameters']:,} | "
            f"{group[0]['recurrent_parameters']:,} | "
            f"{np.mean([m['train_s'] for m in group]):.0f} | "
            f"{np.mean([m['epochs_run'] for m in group]):.1f} | "
            f"{np.mean([m['validation_loss'] for m in group]):.4f} | "
            f"{np.median([m['inference_us'] for m in group]):.0f} |"
        )
    lines += [
        "",
        "Runtime step: median over 300 steps of `RuntimePolicy.step` (numpy, one BLAS "
        "thread, two processes at a time on this machine's two cores), camera + IMU input.",
        "",
        f"![parameters and training time]({figures.name}/cost.png)",
        "",
        "## Closed loop",
        "",
        "Departures: the robot's centre past a lane marking's inner edge (an episode ends "
        "0.2 m beyond it). Filter acted: share of ticks on which the safety filter changed "
        "the command. Without the filter the motors still saturate at their limits; the "
        "commands beyond them are counted as violations.",
        "",
        "| cell | condition | filter | departures/km | mean abs lateral (m) "
        "| max abs lateral (m) | laps/episode | completed | limit violations | filter acted |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in aggregate(document["closed_loop"]):
        lines.append(
            f"| {CELL_NAMES[r['cell']]} | {r['condition']} | {'on' if r['safety'] else 'off'} | "
            f"{r['departures_per_km']:.1f} | {r['mean_abs_lateral_m']:.3f} | "
            f"{r['max_abs_lateral_m']:.3f} | {r['laps_per_episode']:.2f} | "
            f"{r['completed']}/{r['episodes']} | {r['limit_violations']} | "
            + (f"{100 * r['filter_acted']:.0f} %" if r["safety"] else "-")
            + " |"
        )
    lines += ["", f"![closed-loop metrics by condition]({figures.name}/closed_loop.png)", ""]
    return "\n".join(lines)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_cost(document: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    cells = list(dict.fromkeys(m["cell"] for m in document["models"]))
    names = [CELL_NAMES[c] for c in cells]
    first = {c: next(m for m in document["models"] if m["cell"] == c) for c in cells}
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    x = np.arange(len(cells))
    axes[0].bar(x - 0.2, [first[c]["parameters"] for c in cells], 0.4, label="total")
    axes[0].bar(x + 0.2, [first[c]["recurrent_parameters"] for c in cells], 0.4,
                label="recurrent part")  # fmt: skip
    axes[0].set_yscale("log")
    axes[0].set_title("parameters")
    axes[0].legend(fontsize=8)
    for axis, key, title in ((axes[1], "train_s", "training time (s)"),
                             (axes[2], "inference_us", "runtime step (us)")):  # fmt: skip
        values = [[m[key] for m in document["models"] if m["cell"] == c] for c in cells]
        axis.bar(x, [np.mean(v) for v in values], yerr=[np.std(v) for v in values], capsize=3)
        axis.set_title(title)
    for axis in axes:
        axis.set_xticks(x, names, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _plot_conditions(document: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    table = aggregate(document["closed_loop"])
    conditions = list(dict.fromkeys(r["condition"] for r in table))
    cells = list(dict.fromkeys(r["cell"] for r in table))
    metrics = (("departures_per_km", "departures per km"),
               ("mean_abs_lateral_m", "mean |lateral error| (m)"),
               ("laps_per_episode", "laps per episode"))  # fmt: skip
    figure, axes = plt.subplots(1, len(metrics), figsize=(14, 4))
    x = np.arange(len(conditions))
    index = {(r["cell"], r["condition"], r["safety"]): r for r in table}
    for axis, (key, title) in zip(axes, metrics, strict=True):
        for k, cell in enumerate(cells):
            for safety, style in ((True, "-o"), (False, ":x")):
                rows = [index.get((cell, c, safety)) for c in conditions]
                values = [np.nan if r is None else r[key] for r in rows]
                label = f"{CELL_NAMES[cell]} ({'filter' if safety else 'no filter'})"
                axis.plot(x, values, style, color=f"C{k}", label=label)
        axis.set_xticks(x, conditions, rotation=30, fontsize=8)
        axis.set_title(title)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
