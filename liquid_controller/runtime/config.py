"""Typed reads of an artifact's JSON config, with errors naming the key."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from liquid_controller.errors import CheckpointError

__all__ = ["read_bool", "read_choice", "read_float", "read_int", "read_int_list", "read_section"]

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
        raise CheckpointError(f"artifact config: '{where}.{key}' is {value!r}; expected a mapping")
    return value


def read_int(
    section: Mapping[str, Any], key: str, where: str, *, minimum: int = 0, default: Any = _MISSING
) -> int:
    """Return an integer ``>= minimum``."""
    value = _lookup(section, key, where, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {value!r}; expected an integer >= {minimum}"
        )
    return value


def read_float(
    section: Mapping[str, Any], key: str, where: str, *, default: Any = _MISSING
) -> float:
    """Return a finite float."""
    value = _lookup(section, key, where, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {value!r}; expected a finite number"
        )
    return float(value)


def read_bool(section: Mapping[str, Any], key: str, where: str, *, default: Any = _MISSING) -> bool:
    """Return a boolean."""
    value = _lookup(section, key, where, default)
    if not isinstance(value, bool):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {value!r}; expected true or false"
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
            f"artifact config: '{where}.{key}' is {value!r}; expected one of {list(choices)}"
        )
    return str(value)


def read_int_list(section: Mapping[str, Any], key: str, where: str) -> list[int]:
    """Return a non-empty list of positive integers."""
    value = _lookup(section, key, where, _MISSING)
    if (
        not isinstance(value, list)
        or not value
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)
    ):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {value!r}; "
            "expected a non-empty list of positive integers"
        )
    return list(value)
