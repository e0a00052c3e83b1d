"""The package's exception tree: catch ``LiquidControllerError`` to catch them all."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DatasetError",
    "LiquidControllerError",
    "MessageConversionError",
    "ObservationError",
]


class LiquidControllerError(Exception):
    """Root of every error this package raises on purpose."""


def _describe(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(LiquidControllerError, ValueError):
    """A configuration value is missing, malformed or can never be satisfied.

    Attributes:
        key: dotted path of the offending key, e.g. ``"actuators.effort_min[1]"``.
        value: the value found (or ``None`` when missing).
        expected: what would have been accepted.
    """

    def __init__(self, key: str, value: Any, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(f"config key '{key}': got {_describe(value)}; expected {expected}")


class CheckpointError(LiquidControllerError):
    """A model file (checkpoint or exported artifact) is missing, corrupt or incompatible."""


class DatasetError(LiquidControllerError, ValueError):
    """A recording cannot become a dataset: missing topic, wrong type, empty or damaged bag."""


class MessageConversionError(LiquidControllerError, ValueError):
    """A ROS message does not fit what the converter expects.

    Attributes:
        field: the message field at fault, e.g. ``"encoding"`` or ``"data"``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"field '{field}': {message}")


class ObservationError(LiquidControllerError, ValueError):
    """An observation handed to a policy is missing, mis-shaped or non-finite.

    Attributes:
        field: the observation key at fault, e.g. ``"imu"``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"observation '{field}': {message}")


class SimulationError(LiquidControllerError):
    """The simulator cannot run: no OpenGL backend to render with, or its engine failed."""
