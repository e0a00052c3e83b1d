"""Write the replay's output bag: rosbag2 (mcap or sqlite3) with its standard ``metadata.yaml``.

Written with ``rosbags``' writer, one message at a time (nothing is held back), with each
topic's message definition embedded, so ``ros2 bag info`` / ``ros2 bag play``, the ``mcap``
readers, Foxglove and PlotJuggler open it like a live recording. Closing it writes the
metadata, also after a replay that stopped at damage in the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys.store import Typestore

from liquid_controller.errors import ConfigError

__all__ = ["STORAGES", "OutputBag"]

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


class OutputBag:
    """A new rosbag2 folder, open for writing.

    Args:
        path: the folder to create; it must not exist.
        storage: ``"mcap"`` or ``"sqlite3"``.
        typestore: serialises the messages and provides their definitions.

    Raises:
        ConfigError: unknown storage, or ``path`` exists already.
    """

    def __init__(self, path: str | Path, storage: str, typestore: Typestore) -> None:
        if storage not in STORAGES:
            raise ConfigError("storage", storage, f"one of {sorted(STORAGES)}")
        self.path = Path(path)
        if self.path.exists():
            raise ConfigError("out", str(self.path), "a path that does not exist yet")
        self._store = typestore
        self._writer = Writer(
            self.path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[storage]
        )
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        """Messages written per topic."""

    def _connection(self, topic: str, msgtype: str) -> Any:
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=self._store)
            self._connections[topic] = connection
        return connection

    def write(self, topic: str, msgtype: str, log_ns: int, message: Any) -> None:
        """Serialise and write ``message`` at log time ``log_ns``."""
        self.write_raw(topic, msgtype, log_ns, self._store.serialize_cdr(message, msgtype))

    def write_raw(self, topic: str, msgtype: str, log_ns: int, data: bytes | memoryview) -> None:
        """Write an already serialised (CDR) message, e.g. an input copied through."""
        self._writer.write(self._connection(topic, msgtype), int(log_ns), data)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def close(self) -> None:
        """Finish the storage file and write ``metadata.yaml``."""
        self._writer.close()
