"""The input bag as a stream of raw messages in log-time order, and where it is damaged.

A readable bag (mcap or sqlite3, ``metadata.yaml`` beside it) is streamed with ``rosbags``
(one chunk at a time, so memory does not grow with the bag's length). A bag that
``rosbags`` cannot open is walked from the start instead, in the order its messages were
written: a cut-short MCAP file (a killed recording, a partial copy; also one without
``metadata.yaml``) with :mod:`liquid_controller.data.mcap_walk`, which reads the file
whole, and a ``.db3`` file with damaged pages row by row
(:mod:`liquid_controller.replay.sqlite_walk`). The messages before the damage are
replayed and :attr:`BagSource.damage` says where it is. A read error in the middle of a
``rosbags`` stream ends the stream there, with the error and the last log time read as the
damage.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from rosbags.highlevel import AnyReader
from rosbags.typesys.store import Typestore

from liquid_controller.data.mcap_walk import walk_mcap
from liquid_controller.errors import ConfigError
from liquid_controller.replay.sqlite_walk import SqliteWalk

__all__ = ["BagSource", "RawMessage"]

_NS_PER_S = 1e9


class RawMessage(NamedTuple):
    """One serialised message of the input bag."""

    topic: str
    msgtype: str
    log_ns: int
    data: bytes | memoryview


class BagSource:
    """Open a rosbag2 folder (or a file inside one) for streaming.

    Args:
        path: the bag folder, or its ``.mcap`` / ``.db3`` file.
        typestore: deserialises messages whose definitions the bag lacks (and the walked
            ones of a damaged MCAP file).

    Raises:
        ConfigError: ``path`` does not exist or is not a bag ``rosbags`` can read (and not a
            damaged MCAP that can be walked); a topic's serialisation is not CDR.
    """

    def __init__(self, path: str | Path, typestore: Typestore) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ConfigError("bag", str(self.path), "an existing rosbag2 folder")
        folder = self.path if self.path.is_dir() else self.path.parent
        self.typestore = typestore
        self.damage: str | None = None
        """Where the bag stops being readable (set once found; ``None`` while intact)."""
        self._reader: Any = None
        self._walked: Any = None
        try:
            self._reader = AnyReader([folder], default_typestore=typestore)
            self._reader.open()
        except Exception as err:  # noqa: BLE001 - rosbags raises several kinds; walk or report
            self._reader = None
            self._walked = _walk(folder, err)
            self.damage = self._walked.damage
        self.storage = _storage(folder)
        self.topics: dict[str, str] = self._topics()
        """``{topic: message type}`` of every topic in the bag."""

    def _topics(self) -> dict[str, str]:
        if self._reader is None:
            return dict(self._walked.channels.values())
        topics: dict[str, str] = {}
        for connection in self._reader.connections:
            fmt = getattr(connection.ext, "serialization_format", "cdr")
            if fmt != "cdr":
                raise ConfigError(
                    "bag",
                    f"{connection.topic} serialised as {fmt!r}",
                    "CDR-serialised topics (what rosbag2 records)",
                )
            topics[connection.topic] = connection.msgtype
        return topics

    def messages(self, topics: Iterable[str]) -> Iterator[RawMessage]:
        """Yield the messages of ``topics`` in log-time order (file order for a walked MCAP).

        Stops at the first read error, recording it in :attr:`damage`.
        """
        wanted = set(topics)
        if self._reader is None:
            channels = self._walked.channels
            for channel, log_ns, data in self._walked.messages():
                topic, msgtype = channels.get(channel, ("", ""))
                if topic in wanted:
                    yield RawMessage(topic, msgtype, log_ns, data)
            self.damage = self._walked.damage
            return
        connections = [c for c in self._reader.connections if c.topic in wanted]
        last_ns: int | None = None
        stream = self._reader.messages(connections=connections)
        while True:
            try:
                connection, log_ns, data = next(stream)
            except StopIteration:
                return
            except Exception as err:  # noqa: BLE001 - a corrupt page or chunk mid-stream
                where = (
                    "before the first message"
                    if last_ns is None
                    else (f"after the message logged at {last_ns / _NS_PER_S:.3f} s")
                )
                self.damage = f"{self.path.name}: read error {where}: {type(err).__name__}: {err}"
                return
            last_ns = log_ns
            yield RawMessage(connection.topic, connection.msgtype, log_ns, data)

    def deserialize(self, message: RawMessage) -> Any:
        """Decode a message (raises whatever the decoder raises for bad data)."""
        if self._reader is not None:
            return self._reader.deserialize(message.data, message.msgtype)
        return self.typestore.deserialize_cdr(message.data, message.msgtype)

    def close(self) -> None:
        """Release the reader."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._walked is not None:
            self._walked.close()

    def __enter__(self) -> BagSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _storage(folder: Path) -> str:
    return "mcap" if any(folder.glob("*.mcap")) else "sqlite3"


class _McapWalked:
    """A walked MCAP file behind the same interface as :class:`SqliteWalk`."""

    def __init__(self, path: Path) -> None:
        walk = walk_mcap(path)
        self.channels = walk.channels
        self.damage = walk.damage
        self._messages = walk.messages

    def messages(self) -> Iterator[tuple[int, int, bytes]]:
        yield from self._messages

    def close(self) -> None:
        self._messages = []


def _walk(folder: Path, err: Exception) -> Any:
    """Open the one storage file of ``folder`` for walking, or explain why rosbags failed."""
    files = sorted(folder.glob("*.mcap")) + sorted(folder.glob("*.db3"))
    if len(files) == 1:
        try:
            if files[0].suffix == ".mcap":
                return _McapWalked(files[0])
            walked = SqliteWalk(files[0])
            walked.damage = f"{files[0].name}: rosbags cannot open it ({err}); read row by row"
            return walked
        except sqlite3.DatabaseError as walk_err:
            err = walk_err
    raise ConfigError(
        "bag", str(folder), f"a rosbag2 folder that rosbags can read ({type(err).__name__}: {err})"
    ) from None
