"""The replay's summary numbers, as one JSON-ready dict (the report's table, for scripts and CI)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from liquid_controller.replay.controller import OfflineController
from liquid_controller.replay.engine import ReplayRun
from liquid_controller.replay.record import ReplayRecorder

__all__ = ["SUMMARY_PARAMETERS", "build_summary"]

NS_PER_S = 1e9
SUMMARY_PARAMETERS = (
    "rate_hz", "trigger", "input_timeout_s", "max_dt_s", "reset_on_resume",
    "require_joint_state", "diagnostics_period_s",
)  # fmt: skip
MAX_LISTED_INTERVALS = 50


def _percentiles_us(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"count": 0}
    p50, p99 = np.percentile(values, [50, 99])
    return {
        "count": int(values.size),
        "p50_us": float(p50 * 1e6),
        "p99_us": float(p99 * 1e6),
        "max_us": float(values.max() * 1e6),
    }


def build_summary(
    run: ReplayRun,
    recorder: ReplayRecorder,
    controller: OfflineController,
    *,
    header: dict[str, Any],
    output_counts: dict[str, int],
) -> dict[str, Any]:
    """Collect everything the report states in numbers.

    Args:
        run: the engine's result.
        recorder: the observer that watched the replay.
        controller: the controller after the replay (its counters).
        header: what was replayed with what (bag, model, topics, files), copied in first.
        output_counts: messages written per output topic.
    """
    duration_s = 0.0
    if run.start_ns is not None and run.end_ns is not None:
        duration_s = (run.end_ns - run.start_ns) / NS_PER_S
    policy_counters = controller.policy_runner.counters
    safety_counters = controller.safety_runner.counters
    counts = recorder.counts
    return {
        **header,
        "parameters": {k: controller.values[k] for k in SUMMARY_PARAMETERS},
        "duration_s": duration_s,
        "wall_s": run.wall_s,
        "real_time_factor": duration_s / run.wall_s if run.wall_s > 0 else None,
        "ticks": counts["ticks"],
        "policy_steps": counts["policy_steps"],
        "interventions": counts["interventions"],
        "fallbacks": counts["fallbacks"],
        "limit_violations": counts["limit_violations"],
        "first_limit_violation": recorder.first_violation,
        "filter_errors": safety_counters.filter_errors,
        "guard_overrides": safety_counters.guard_overrides,
        "policy_errors": policy_counters.policy_errors,
        "statuses": counts["statuses"],
        "policy_statuses": counts["policy_statuses"],
        "active_constraints": counts["active_constraints"],
        "fallback_causes": counts["fallback_causes"],
        "fallback_intervals": recorder.fallback_intervals,
        "fallback_intervals_listed": [asdict(i) for i in recorder.fallbacks[:MAX_LISTED_INTERVALS]],
        "dt_clamps": dict(policy_counters.dt_clamps),
        "dropped": {
            **{f"policy.{k}": v for k, v in policy_counters.dropped.items()},
            **{f"safety.{k}": v for k, v in safety_counters.dropped.items()},
        },
        "last_drop_reason": policy_counters.last_drop_reason or safety_counters.last_drop_reason,
        "inputs": [stats.summary() for stats in recorder.inputs.values()],
        "messages_read": run.messages,
        "undecodable": run.undecodable,
        "first_undecodable": run.first_undecodable,
        "out_of_order_log_times": run.out_of_order,
        "damage": run.damage,
        "policy_step_time": _percentiles_us(recorder.step_times.array()),
        "filter_solve_time": _percentiles_us(recorder.solve_times.array()),
        "diagnostics_levels": counts["diagnostics_levels"],
        "barriers": recorder.barrier_summary(),
        "comparison": recorder.comparison(),
        "output_messages": output_counts,
    }
