"""The replay report: one self-contained HTML file (figures as embedded PNGs) from the summary.

Sections: the summary numbers (limit violations first: they must be 0), per-actuator
nominal / filtered / executed commands over time with the fallbacks shaded, when and why
the filter intervened (active constraints, fallbacks, slack), input rates with gaps and
staleness fallbacks, policy-step and filter-solve time histograms, the neurons' activity
raster, then the tables (inputs, fallback intervals, comparison with the executed
commands). Needs matplotlib (the ``dev``/``train`` extras).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from liquid_controller.replay.record import ReplayRecorder

__all__ = ["write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bad { background: #fdd; } .good { background: #dfd; } .warn { background: #ffd; }
img { max-width: 100%; } .small { color: #666; font-size: 0.85em; }
"""


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return '<img src="data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode() + '">'


def _shade_fallbacks(ax: Any, recorder: ReplayRecorder) -> None:
    for interval in recorder.fallbacks:
        ax.axvspan(interval.start_s, max(interval.end_s, interval.start_s), color="red", alpha=0.12)


def _commands_figure(recorder: ReplayRecorder) -> str:
    import matplotlib.pyplot as plt

    n = len(recorder.actuator_names)
    rows = recorder.ticks.array(1 + 3 * n + 4)
    fig, axes = plt.subplots(n, 1, figsize=(11, 2.2 * n + 0.5), sharex=True, squeeze=False)
    t = rows[:, 0] if rows.size else np.zeros(0)
    for i, name in enumerate(recorder.actuator_names):
        ax = axes[i, 0]
        if rows.size:
            ax.plot(t, rows[:, 1 + n + i], "--", color="tab:blue", lw=1, label="nominal (policy)")
            ax.plot(t, rows[:, 1 + i], color="tab:green", lw=1.2, label="filtered (published)")
            executed = rows[:, 1 + 2 * n + i]
            if np.isfinite(executed).any():
                ax.plot(t, executed, ":", color="black", lw=1, label="recorded (executed)")
        _shade_fallbacks(ax, recorder)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper right", fontsize=8, ncol=3)
    axes[-1, 0].set_xlabel("time since the bag's start (s); red: safe command (fallback)")
    return _png(fig)


def _interventions_figure(recorder: ReplayRecorder) -> str:
    import matplotlib.pyplot as plt

    n = len(recorder.actuator_names)
    rows = recorder.ticks.array(1 + 3 * n + 4)
    names = recorder.constraint_names
    barrier_names = [] if recorder.barriers is None else recorder.barriers.names
    fig, (top, middle, bottom) = plt.subplots(
        3, 1, figsize=(11, 1.0 + 0.35 * (len(names) + 2) + 3.6), sharex=True,
        gridspec_kw={"height_ratios": [max(len(names) + 2, 2), 4, 2]},
    )  # fmt: skip
    labels = ["fallback (safe command)", "intervened", *names]
    if rows.size:
        t = rows[:, 0]
        intervened, fallback = rows[:, -4] > 0, rows[:, -3] > 0
        mask = rows[:, -1].astype(np.int64)
        top.plot(t[fallback], np.zeros(fallback.sum()), "|", color="red", ms=10)
        top.plot(t[intervened], np.ones(intervened.sum()), "|", color="tab:orange", ms=10)
        for k in range(len(names)):
            hit = (mask >> k) & 1 == 1
            top.plot(t[hit], np.full(hit.sum(), 2 + k), "|", color="tab:purple", ms=10)
        bottom.plot(t, rows[:, -2], color="tab:brown", lw=1)
    h = recorder.barrier_values.array(1 + len(barrier_names))
    if h.size and barrier_names:
        for k, name in enumerate(barrier_names):
            middle.plot(h[:, 0], h[:, 1 + k], lw=1, label=name)
        middle.axhline(0.0, color="red", lw=0.8)
        middle.legend(fontsize=7, loc="lower left", ncol=2)
    middle.set_ylabel("h(x)")
    middle.grid(alpha=0.3)
    top.set_yticks(range(len(labels)), labels, fontsize=8)
    top.set_ylim(-0.7, len(labels) - 0.3)
    top.set_title("when and why the filter intervened (active constraints per tick)")
    bottom.set_ylabel("max slack")
    bottom.set_xlabel("time since the bag's start (s)")
    bottom.grid(alpha=0.3)
    return _png(fig)


def _inputs_figure(recorder: ReplayRecorder) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 2.8))
    for stats in recorder.inputs.values():
        t, rate = stats.bins.rates()
        ax.step(t, rate, where="post", lw=1, label=stats.topic)
        for gap in stats.gaps:
            ax.axvspan(gap.start_s, gap.end_s, color="gray", alpha=0.2)
    _shade_fallbacks(ax, recorder)
    ax.set_ylabel("messages / s")
    ax.set_xlabel("time since the bag's start (s); gray: gaps longer than input_timeout_s")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return _png(fig)


def _timing_figure(recorder: ReplayRecorder) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 2.8))
    for ax, values, title in (
        (axes[0], recorder.step_times.array(), "policy step (s)"),
        (axes[1], recorder.solve_times.array(), "safety filter call (s)"),
    ):
        values = values[values > 0]
        if values.size:
            bins = np.logspace(np.log10(values.min()), np.log10(values.max()) + 1e-9, 40)
            ax.hist(values, bins=bins, color="tab:gray")
            ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("ticks")
    return _png(fig)


def _activity_figure(recorder: ReplayRecorder) -> str:
    import matplotlib.pyplot as plt

    rows = recorder.activity.array()
    fig, ax = plt.subplots(figsize=(11, 3))
    if rows.ndim == 2 and rows.shape[0] > 1:
        t = rows[:, 0]
        image = ax.imshow(
            rows[:, 1:].T, aspect="auto", interpolation="nearest", cmap="viridis",
            extent=(t[0], t[-1], rows.shape[1] - 1.5, -0.5),
        )  # fmt: skip
        fig.colorbar(image, ax=ax, label="activity")
    ax.set_ylabel("neuron")
    ax.set_xlabel("time since the bag's start (s)")
    return _png(fig)


def _table(rows: list[tuple[str, Any]], bad: frozenset[str] | set[str] = frozenset()) -> str:
    cells = []
    for key, value in rows:
        css = ' class="bad"' if key in bad else ""
        cells.append(f"<tr{css}><th>{html.escape(key)}</th><td class=num>{_cell(value)}</td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return html.escape(", ".join(f"{k}: {_cell(v)}" for k, v in value.items())) or "-"
    return html.escape(str(value))


def _grid(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _summary_section(summary: dict[str, Any]) -> str:
    bad = set()
    if summary["limit_violations"]:
        bad.add("limit violations (must be 0)")
    if summary["damage"]:
        bad.add("damage")
    rows = [
        ("limit violations (must be 0)", summary["limit_violations"]),
        ("ticks", summary["ticks"]),
        ("policy steps", summary["policy_steps"]),
        ("interventions", summary["interventions"]),
        ("fallbacks (safe command)", summary["fallbacks"]),
        ("fallback causes", summary["fallback_causes"]),
        ("filter statuses", summary["statuses"]),
        ("policy statuses", summary["policy_statuses"]),
        ("active constraints", summary["active_constraints"]),
        ("policy errors / filter errors / guard overrides",
         f"{summary['policy_errors']} / {summary['filter_errors']} / {summary['guard_overrides']}"),
        ("dropped samples", summary["dropped"]),
        ("dt clamps", summary["dt_clamps"]),
        ("bag time replayed (s)", summary["duration_s"]),
        ("wall time (s)", summary["wall_s"]),
        ("real-time factor", summary["real_time_factor"]),
        ("undecodable messages", summary["undecodable"] or 0),
        ("log times out of order", summary["out_of_order_log_times"]),
        ("damage", summary["damage"] or "none"),
    ]  # fmt: skip
    if summary["first_limit_violation"]:
        rows.insert(1, ("first limit violation", summary["first_limit_violation"]))
    return _table(rows, bad)


def write_report(path: Path, summary: dict[str, Any], recorder: ReplayRecorder) -> Path:
    """Write the HTML report to ``path`` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    inputs = [
        [i["topic"], i["type"], i["messages"], i["mean_rate_hz"], i["max_gap_s"],
         i["gaps_over_timeout"], i["header_stamp_backwards"], i["header_stamp_repeats"],
         i["undecodable"]]
        for i in summary["inputs"]
    ]  # fmt: skip
    barriers = summary["barriers"] or {}
    fallbacks = [
        [f["start_s"], f["end_s"], f["ticks"], f["cause"], f["detail"]]
        for f in summary["fallback_intervals_listed"]
    ]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Replay of "
        f"{html.escape(Path(summary['bag']).name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Replay of {html.escape(summary['bag'])}</h1>",
        f"<p class=small>model {html.escape(summary['model'])}; safety config "
        f"{html.escape(summary['safety_config'])}; output bag "
        f"{html.escape(summary['output_bag'])} ({summary['output_storage']}); parameters "
        f"{_cell(summary['parameters'])}</p>",
        "<h2>Summary</h2>",
        _summary_section(summary),
        "<h2>Commands per actuator</h2>",
        _commands_figure(recorder),
        "<h2>Filter interventions</h2>",
        _interventions_figure(recorder),
        "<p class=small>h(x) of the built-in joint barriers at the joint state the filter was "
        "given (safe while h &ge; 0; NaN gaps: no fresh joint state); plug-in barriers need "
        "state the bag does not hold and are not evaluated.</p>",
        _grid(
            ["barrier row", "smallest h(x)", "ticks with h < 0"],
            [[k, v["min_h"], v["ticks_h_negative"]] for k, v in barriers.items()],
        ),
        "<h2>Inputs: rates, gaps, staleness fallbacks</h2>",
        _inputs_figure(recorder),
        _grid(
            [
                "topic",
                "type",
                "messages",
                "mean rate (Hz)",
                "max gap (s)",
                "gaps > timeout",
                "stamps backwards",
                "stamps repeated",
                "undecodable",
            ],
            inputs,
        ),  # fmt: skip
        f"<h2>Fallback intervals ({summary['fallback_intervals']})</h2>",
        _grid(["start (s)", "end (s)", "ticks", "cause", "first reason"], fallbacks),
        "<h2>Compute time</h2>",
        _timing_figure(recorder),
        _table(
            [
                ("policy step", summary["policy_step_time"]),
                ("safety filter call", summary["filter_solve_time"]),
            ]
        ),  # fmt: skip
        "<h2>Neuron activity</h2>",
        _activity_figure(recorder),
    ]
    comparison = summary["comparison"]
    parts.append("<h2>Replayed vs executed commands</h2>")
    if comparison is None:
        parts.append("<p>The bag holds no executed commands to compare with.</p>")
    else:
        parts.append(
            f"<p>{comparison['compared_ticks']} ticks compared with the last command on "
            f"{html.escape(comparison['topic'])} (held up to input_timeout_s).</p>"
        )
        parts.append(
            _grid(
                ["actuator", "mean |error|", "RMS error", "max |error|"],
                [
                    [name, e["mean_abs_error"], e["rms_error"], e["max_abs_error"]]
                    for name, e in comparison["per_actuator"].items()
                ],
            )  # fmt: skip
        )
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")
    return Path(path)
