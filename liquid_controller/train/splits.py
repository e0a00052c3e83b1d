"""Assign whole episodes to train / validation / test, reproducibly for a seed.

Episodes are ordered by a hash of ``(seed, name)``, not by their position in the config,
so the assignment depends only on the seed and the episode names: listing the bags in
another order gives the same split, and adding a bag moves few episodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from liquid_controller.errors import DatasetError
from liquid_controller.train.dataset_config import SplitConfig

__all__ = ["SPLIT_NAMES", "split_names"]

SPLIT_NAMES = ("train", "validation", "test")


def _order_key(seed: int, name: str) -> str:
    return hashlib.sha256(f"{seed}\0{name}".encode()).hexdigest()


def split_names(names: Sequence[str], config: SplitConfig) -> dict[str, tuple[str, ...]]:
    """Return the episode names of each split (each split keeps the input order).

    Held-out splits get ``round(fraction * n)`` episodes, at least one when their
    fraction is above 0; train gets the rest and at least one.

    Raises:
        DatasetError: too few episodes to give every split with a fraction above 0 one.
    """
    count = len(names)
    held = {"validation": config.validation, "test": config.test}
    sizes = {split: max(round(f * count), 1) if f > 0 else 0 for split, f in held.items()}
    if count - sum(sizes.values()) < 1:
        wanted = 1 + sum(1 for f in held.values() if f > 0)
        raise DatasetError(
            f"{count} episode(s) cannot fill train, validation and test "
            f"(split.validation = {config.validation:g}, split.test = {config.test:g} need at "
            f"least {wanted}); record more bags, or set those fractions to 0"
        )
    ordered = sorted(names, key=lambda name: _order_key(config.seed, name))
    chosen = {
        "validation": set(ordered[: sizes["validation"]]),
        "test": set(ordered[sizes["validation"] : sizes["validation"] + sizes["test"]]),
    }
    result = {split: tuple(n for n in names if n in members) for split, members in chosen.items()}
    taken = chosen["validation"] | chosen["test"]
    return {"train": tuple(n for n in names if n not in taken), **result}
