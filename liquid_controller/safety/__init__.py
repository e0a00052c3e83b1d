"""The CBF safety filter: hard torque/force limits and state barriers, solved as a QP.

Numpy plus a QP solver (DAQP by default); no torch, no rclpy. Entry point::

    from liquid_controller.safety import SafetyFilter
    f = SafetyFilter.from_yaml("config/safety.yaml")
    r = f.filter(u_nominal, state=None, t=None)
"""

from __future__ import annotations

from liquid_controller.safety.barriers import BarrierFunction, BarrierTerms, class_k_coefficients
from liquid_controller.safety.config import SafetyConfig, load_config, parse_config
from liquid_controller.safety.constraints import ConstraintBuilder
from liquid_controller.safety.filter import Enforced, FilterResult, FilterStatus, SafetyFilter
from liquid_controller.safety.qp import QPProblem, QPSolution, QPStatus, available_solvers, solve

__all__ = [
    "BarrierFunction",
    "BarrierTerms",
    "ConstraintBuilder",
    "Enforced",
    "FilterResult",
    "FilterStatus",
    "QPProblem",
    "QPSolution",
    "QPStatus",
    "SafetyConfig",
    "SafetyFilter",
    "available_solvers",
    "class_k_coefficients",
    "load_config",
    "parse_config",
    "solve",
]
