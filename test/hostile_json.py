"""Hostile JSON values and key paths shared by the model-file loader tests."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

HOSTILE_VALUES = [
    -1, 0, 10**12, 10**400, 1e308, 5e-324, float("nan"), float("inf"), "x", None, True,
    [], {}, [None], ["x", "y"], [[1, 2, 3]], {"a": 1},
]  # fmt: skip
"""Values a hostile file may put anywhere: out of range, beyond float, non-finite, mistyped."""


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path into ``value`` (lists longer than 8 items skipped: matrices)."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list) and len(value) <= 8:
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from json_paths(child, (*prefix, key))


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``document`` with the item at ``path`` set to (a copy of) ``value``."""
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = copy.deepcopy(value)
    return changed
