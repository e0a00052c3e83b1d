"""The input bag as a stream of raw messages in log-time order, and where it is damaged.

A readable bag (mcap or sqlite3, ``metadata.yaml`` beside it) is streamed with ``rosbags``
(one chunk at a time, so memory does not grow with the bag's length). A bag that
``rosbags`` cannot open because its MCAP file is cut short (a killed recording, a partial
copy) is walked from the start instead (:mod:`liquid_controller.train.mcap_walk`): the
messages before the damage are replayed, and :attr:`BagSource.damage` says where it is.
A read error in the middle of a stream (a corrupt sqlite3 page, an MCAP chunk that does not
decompress) ends the stream there, with the error and the last log time read as the damage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from rosbags.highlevel import AnyReader
from rosbags.typesys.store import Typestore

from liquid_controller.errors import ConfigError
from liquid_controller.train.mcap_walk import walk_mcap

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
            mcaps = sorted(folder.glob("*.mcap"))
            if len(mcaps) != 1:
                raise ConfigError(
                    "bag",
                    str(self.path),
                    f"a rosbag2 folder that rosbags can read ({type(err).__name__}: {err})",
                ) from None
            self._walked = walk_mcap(mcaps[0])
            self.damage = self._walked.damage or f"rosbags could not open it: {err}"
        self.storage = "mcap" if self._walked or _is_mcap(self._reader) else "sqlite3"
        self.topics: dict[str, str] = self._topics()
        """``{topic: message type}`` of every topic in the bag."""

    def _topics(self) -> dict[str, str]:
        if self._reader is None:
            return {topic: msgtype for topic, msgtype in self._walked.channels.values()}
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
            for channel, log_ns, data in self._walked.messages:
                topic, msgtype = channels.get(channel, ("", ""))
                if topic in wanted:
                    yield RawMessage(topic, msgtype, log_ns, data)
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

    def __enter__(self) -> BagSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_mcap(reader: Any) -> bool:
    paths = getattr(reader, "paths", [])
    return any(p.is_dir() and any(p.glob("*.mcap")) for p in paths)
