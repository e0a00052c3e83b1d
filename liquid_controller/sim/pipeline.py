"""The control pipeline as the simulations run it, and the compute times they report.

One :class:`~liquid_controller.control.ControlPipeline` from a policy and a safety config,
as the nodes build it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from liquid_controller.control import (
    CommandGuard,
    ControlPipeline,
    PolicyRunner,
    PolicyRunnerConfig,
    SafetyRunner,
    SafetyRunnerConfig,
)
from liquid_controller.runtime.spec import Policy
from liquid_controller.safety.config import SafetyConfig
from liquid_controller.safety.filter import SafetyFilter

__all__ = ["percentile_us", "simulated_pipeline"]


def simulated_pipeline(
    policy: Policy, config: SafetyConfig, *, period_s: float, input_timeout_s: float
) -> ControlPipeline:
    """Return the pipeline a node would run: ``policy`` behind the filter of ``config``."""
    return ControlPipeline(
        PolicyRunner(
            policy, PolicyRunnerConfig(input_timeout_s=input_timeout_s, nominal_period_s=period_s)
        ),
        SafetyRunner(
            SafetyFilter(config),
            CommandGuard.from_config(config),
            SafetyRunnerConfig(input_timeout_s=input_timeout_s, max_dt_s=config.timing.max_dt_s),
        ),
    )


def percentile_us(samples: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile of ``samples`` (seconds) in microseconds (NaN if none)."""
    return float(np.percentile(samples, q) * 1e6) if len(samples) else float("nan")
