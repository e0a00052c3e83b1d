"""Typed reads of an artifact's JSON config, with errors naming the key."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.limits import MAX_LAYER_WIDTH

__all__ = [
    "is_finite_number",
    "read_bool",
    "read_choice",
    "read_float",
    "read_int",
    "read_int_list",
    "read_section",
]

_MISSING = object()


def _lookup(section: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
    if key in section:
        return section[key]
    if default is _MISSING:
        raise CheckpointError(f"artifact config: missing key '{where}.{key}'")
    return default


def read_section(section: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """Return the sub-mapping ``section[key]``."""
    value = _lookup(section, key, where, _MISSING)
    if not isinstance(value, Mapping):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {_short(value)}; expected a mapping"
        )
    return value


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (not a bool) that is finite as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False


def read_int(
    section: Mapping[str, Any],
    key: str,
    where: str,
    *,
    minimum: int = 0,
    maximum: int = MAX_LAYER_WIDTH,
    default: Any = _MISSING,
) -> int:
    """Return an integer in ``[minimum, maximum]``.

    ``maximum`` defaults to :data:`~liquid_controller.runtime.limits.MAX_LAYER_WIDTH`:
    config integers size buffers that are allocated before any array is read.
    """
    value = _lookup(section, key, where, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {_short(value)}; "
            f"expected an integer in [{minimum}, {maximum}]"
        )
    return value


def read_float(
    section: Mapping[str, Any], key: str, where: str, *, default: Any = _MISSING
) -> float:
    """Return a finite float."""
    value = _lookup(section, key, where, default)
    if not is_finite_number(value):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {_short(value)}; expected a finite number"
        )
    return float(value)


def read_bool(section: Mapping[str, Any], key: str, where: str, *, default: Any = _MISSING) -> bool:
    """Return a boolean."""
    value = _lookup(section, key, where, default)
    if not isinstance(value, bool):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {_short(value)}; expected true or false"
        )
    return value


def read_choice(
    section: Mapping[str, Any],
    key: str,
    where: str,
    choices: Sequence[str],
    *,
    default: Any = _MISSING,
) -> str:
    """Return a string out of ``choices``."""
    value = _lookup(section, key, where, default)
    if value not in choices:
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {_short(value)}; expected one of {list(choices)}"
        )
    return str(value)


def read_int_list(
    section: Mapping[str, Any], key: str, where: str, *, maximum: int = MAX_LAYER_WIDTH
) -> list[int]:
    """Return a non-empty list of integers in ``[1, maximum]``."""
    value = _lookup(section, key, where, _MISSING)
    if (
        not isinstance(value, list)
        or not value
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
        or not all(1 <= v <= maximum for v in value)
    ):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {_short(value)}; "
            f"expected a non-empty list of integers in [1, {maximum}]"
        )
    return list(value)


def _short(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters (a hostile value may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
