"""Find the rosbag2 folders a dataset config names, and fingerprint their content.

A rosbag2 recording is a folder holding ``metadata.yaml`` and its storage files
(``.mcap`` or ``.db3``). A config entry may name such a folder, a file inside it, or any
folder above recordings (searched recursively).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from liquid_controller.errors import ConfigError

__all__ = ["bag_digest", "find_bags"]

_METADATA = "metadata.yaml"
_CHUNK_BYTES = 1 << 20


def _is_bag(folder: Path) -> bool:
    return (folder / _METADATA).is_file()


def _bags_of(entry: Path, key: str) -> list[Path]:
    if not entry.exists():
        raise ConfigError(
            key, str(entry), "an existing bag folder, file of a bag, or folder of bags"
        )
    if entry.is_file():
        if _is_bag(entry.parent):
            return [entry.parent]
        raise ConfigError(
            key,
            str(entry),
            f"a file inside a rosbag2 folder (no {_METADATA} beside it; a recording that was "
            "killed can be repaired with 'ros2 bag reindex')",
        )
    if _is_bag(entry):
        return [entry]
    found = sorted(path.parent for path in entry.rglob(_METADATA))
    if not found:
        raise ConfigError(
            key,
            str(entry),
            f"a folder holding rosbag2 recordings (no {_METADATA} anywhere below it; a "
            "recording that was killed can be repaired with 'ros2 bag reindex')",
        )
    return found


def find_bags(entries: Sequence[Path]) -> tuple[Path, ...]:
    """Return the bag folders named by ``entries`` (config ``bags``), each once, in order.

    Raises:
        ConfigError: an entry does not exist or holds no recording, or two bags share a
            folder name (episode names come from it and must be unique).
    """
    bags: dict[Path, Path] = {}
    for index, entry in enumerate(entries):
        for bag in _bags_of(Path(entry), f"bags[{index}]"):
            bags.setdefault(bag.resolve(), bag)
    names: dict[str, Path] = {}
    for bag in bags.values():
        if bag.name in names:
            raise ConfigError(
                "bags",
                [str(names[bag.name]), str(bag)],
                "bags with distinct folder names (episode names are '<folder name>#<index>')",
            )
        names[bag.name] = bag
    return tuple(bags.values())


def bag_digest(bag: Path) -> str:
    """Return a SHA-256 over every file of the bag folder: relative name, size and content.

    Size and modification time alone would miss a bag rewritten in place within the
    file system's time resolution, so the content is read in full.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in bag.rglob("*") if p.is_file()):
        relative = path.relative_to(bag).as_posix()
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                digest.update(chunk)
    return digest.hexdigest()
