"""Parse a JSON document from a model file with bounded size and nesting."""

from __future__ import annotations

import json
from typing import Any

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH

__all__ = ["parse_json"]


def parse_json(data: str | bytes, where: str) -> Any:
    """Parse ``data`` (UTF-8 text) with bounded size and nesting.

    At most :data:`MAX_JSON_BYTES` long and :data:`MAX_JSON_DEPTH` levels deep.

    Args:
        data: the document.
        where: names the file and entry in error messages, e.g. ``"checkpoint 'a': 'config'"``.

    Raises:
        CheckpointError: naming ``where``: too large, not UTF-8, not JSON, or too deep.
    """
    if len(data) > MAX_JSON_BYTES:
        raise CheckpointError(
            f"{where}: JSON of {len(data)} bytes; expected at most {MAX_JSON_BYTES}"
        )
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text)
    except RecursionError:
        raise CheckpointError(_too_deep(where)) from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise CheckpointError(f"{where}: not valid JSON ({err})") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise CheckpointError(_too_deep(where))
    return value


def _too_deep(where: str) -> str:
    return f"{where}: JSON nested more than {MAX_JSON_DEPTH} levels deep; expected at most that"


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), without recursion; stops past the cap."""
    deepest = 0
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending and deepest <= MAX_JSON_DEPTH:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        pending.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest
