"""ROS-free node cores: runners, watchdogs, the composed pipeline, diagnostics, parameters.

Everything takes the time explicitly (``now_s``: the node clock, simulation time under
``use_sim_time``), so node behaviour is tested deterministically without ROS; the rclpy
nodes in :mod:`liquid_controller.ros` only translate messages and parameters.
"""

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.diagnostics import (
    DiagnosticLevel,
    DiagnosticRecord,
    PolicyDiagnostics,
    RateMeter,
    SafetyDiagnostics,
    WindowStats,
)
from liquid_controller.control.parameters import (
    CONTROLLER_NODE_PARAMETERS,
    POLICY_NODE_PARAMETERS,
    SAFETY_FILTER_NODE_PARAMETERS,
    ParameterSpec,
    ParameterType,
    Validation,
    parameters_for,
    validate_changes,
)
from liquid_controller.control.pipeline import ControlPipeline, PipelineTick
from liquid_controller.control.policy_loading import load_policy
from liquid_controller.control.policy_runner import (
    DtClamp,
    PolicyRunner,
    PolicyRunnerConfig,
    PolicyTick,
    PolicyTickStatus,
)
from liquid_controller.control.safety_runner import (
    SafetyRunner,
    SafetyRunnerConfig,
    SafetyTick,
)
from liquid_controller.control.watchdog import FreshnessTransition, InputWatchdog

__all__ = [
    "CONTROLLER_NODE_PARAMETERS",
    "POLICY_NODE_PARAMETERS",
    "SAFETY_FILTER_NODE_PARAMETERS",
    "CommandGuard",
    "ControlPipeline",
    "DiagnosticLevel",
    "DiagnosticRecord",
    "DtClamp",
    "FreshnessTransition",
    "InputWatchdog",
    "ParameterSpec",
    "ParameterType",
    "PipelineTick",
    "PolicyDiagnostics",
    "PolicyRunner",
    "PolicyRunnerConfig",
    "PolicyTick",
    "PolicyTickStatus",
    "RateMeter",
    "SafetyDiagnostics",
    "SafetyRunner",
    "SafetyRunnerConfig",
    "SafetyTick",
    "Validation",
    "WindowStats",
    "load_policy",
    "parameters_for",
    "validate_changes",
]
