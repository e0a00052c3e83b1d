"""The explanation as files: ``report.html`` and ``explanation.json``.

``report.html`` is self-contained (figures as embedded PNGs); ``explanation.json`` holds
every number of the report.

Sections: the model and episode; neuron activity (inputs, traces by neuron type,
command); the raster; the wiring graph; the decision tree (fidelity on held-out ticks,
rules, feature importances); saliency on chosen frames and the episode's attention
summary; notes on what was not computed. Needs matplotlib.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from liquid_controller.errors import ConfigError
from liquid_controller.explain import figures
from liquid_controller.explain.run import Explanation

__all__ = ["explanation_numbers", "write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ccc;
padding: 3px 8px; } pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
img { max-width: 100%; } .note { background: #ffd; padding: 0.4em; }
"""


def _embed(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def explanation_numbers(result: Explanation) -> dict[str, Any]:
    """Return the report's numbers, JSON-able."""
    spec, episode, run = result.model.spec, result.episode, result.rollout
    types = result.model.neuron_types()
    activity = run.activity
    numbers: dict[str, Any] = {
        "model": str(result.model.source),
        "episode": episode.name,
        "episodes": [e.name for e in result.episodes],
        "ticks": len(episode),
        "neurons": {kind: types.count(kind) for kind in dict.fromkeys(types)},
        "activity": [
            {
                "neuron": i,
                "type": types[i],
                "mean": float(activity[:, i].mean()),
                "std": float(activity[:, i].std()),
                "min": float(activity[:, i].min()),
                "max": float(activity[:, i].max()),
            }
            for i in range(activity.shape[1])
        ],
        "action_names": list(spec.action.names),
        "tree": {
            "depth": result.tree.depth,
            "fidelity_held_out": result.tree.fidelity,
            "majority_share_held_out": result.tree.majority_share,
            "fit_ticks": int(result.tree.fit_ticks.size),
            "held_out_ticks": int(result.tree.held_out_ticks.size),
            "features": list(result.tree.features),
            "importances": result.tree.importances,
            "classes": list(result.tree.classes),
            "rules": result.tree.rules,
        },
        "saliency": {
            method: {
                "frames": sorted(maps),
                "summary": result.attention.get(method),
            }
            for method, maps in result.saliency.items()
        },
        "notes": list(result.notes),
    }
    if episode.recorded_action is not None:
        error = run.action - episode.recorded_action
        numbers["policy_vs_recorded_rms"] = {
            name: float(np.sqrt(np.mean(error[:, i] ** 2)))
            for i, name in enumerate(spec.action.names)
        }
    return numbers


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def _attention_html(result: Explanation) -> str:
    parts = []
    for method, summary in result.attention.items():
        rows: list[tuple[str, Any]] = [
            ("frames with saliency", summary["frames"]),
            ("frames with none", summary["zero_frames"]),
            ("pixels holding half the mass", _fraction(summary["concentration"])),
        ]
        rows += [(f"mass in {k}", _fraction(v)) for k, v in summary["bands"].items()]
        for label, shares in (summary.get("labels") or {}).items():
            rows.append(
                (
                    f"mass on {label} (area)",
                    f"{_fraction(shares['mass'])} ({_fraction(shares['area'])})",
                )
            )
        parts.append(f"<h3>{html.escape(method)}</h3>{_table(rows)}")
    return "".join(parts)


def _fraction(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f} %"


def write_report(folder: Path, result: Explanation) -> tuple[Path, Path]:
    """Write ``report.html`` and ``explanation.json`` into ``folder`` (created); return both.

    Raises:
        ConfigError: ``folder`` cannot be created or written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError("out", str(folder), f"a folder that can be created ({err})") from None
    numbers = explanation_numbers(result)
    spec, episode, run = result.model.spec, result.episode, result.rollout
    types = result.model.neuron_types()
    vectors = {v.name: v.fields for v in spec.vectors}
    body = [
        "<h1>Policy explanation</h1>",
        _table(
            [
                ("model", numbers["model"]),
                ("episode", f"{episode.name} ({len(episode)} ticks)"),
                ("neurons", ", ".join(f"{n} {k}" for k, n in numbers["neurons"].items())),
            ]
        ),
    ]
    body += [f'<p class="note">{html.escape(note)}</p>' for note in result.notes]
    body += [
        "<h2>Neuron activity</h2>",
        _embed(figures.activity_figure(episode, run, types, vectors, spec.action.names)),
        "<h2>Raster</h2>",
        _embed(figures.raster_figure(episode, run, types)),
        "<h2>Wiring</h2>",
    ]
    wiring = result.model.wiring
    if wiring is None:
        body.append("<p>No synapse graph with polarities for this core (dense, or CfC artifact: "
                    "explain the checkpoint to draw it).</p>")  # fmt: skip
    else:
        inputs = ([f"image feature {i}" for i in range(_image_features(result))]
                  + [f"{v.name}.{f}" for v in spec.vectors for f in v.fields])  # fmt: skip
        body.append(_embed(figures.wiring_figure(wiring, types, inputs)))
    tree = result.tree
    body += [
        "<h2>Decision tree</h2>",
        _table(
            [
                ("fidelity on held-out ticks", _fraction(tree.fidelity)),
                ("majority class share (held out)", _fraction(tree.majority_share)),
                ("ticks fitted / held out", f"{tree.fit_ticks.size} / {tree.held_out_ticks.size}"),
                ("depth", tree.depth),
            ]
        ),
        f"<pre>{html.escape(tree.rules)}</pre>",
        _table(
            sorted(
                ((k, f"{v:.3f}") for k, v in tree.importances.items() if v > 0),
                key=lambda row: -float(row[1]),
            )
        ),  # fmt: skip
    ]
    if result.saliency:
        shown = result.shown
        maps = {m: [values[k] for k in shown] for m, values in result.saliency.items()}
        masks = None if episode.masks is None else [episode.masks[k] for k in shown]
        images = [episode.observations["image"][k] for k in shown]
        body += [
            "<h2>Attention on the camera</h2>",
            _embed(figures.saliency_figure(shown, images, maps, masks)),
            "<h2>Where attention concentrates over the episode</h2>",
            _attention_html(result),
        ]
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Policy explanation</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
    report, data = folder / "report.html", folder / "explanation.json"
    try:
        report.write_text(page, encoding="utf-8")
        data.write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    except OSError as err:
        raise ConfigError("out", str(folder), f"a writable folder ({err})") from None
    return report, data


def _image_features(result: Explanation) -> int:
    wiring = result.model.wiring
    inputs = 0 if wiring is None or wiring.input_dim is None else wiring.input_dim
    return inputs - sum(v.size for v in result.model.spec.vectors)
