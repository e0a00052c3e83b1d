"""Read a rosbag2 sqlite3 file row by row, up to the first damaged page.

``rosbags`` refuses a ``.db3`` file whose pages are damaged as a whole ("database disk image
is malformed"). rosbag2 stores one row per message (``messages(id, topic_id, timestamp,
data)``, inserted as they arrived) and one per topic (``topics(id, name, type, ...)``), so
reading the rows in insertion order with ``sqlite3`` itself recovers every message before
the damage and says where it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SqliteWalk"]

_NS_PER_S = 1e9


class SqliteWalk:
    """The topics and the readable messages of a rosbag2 ``.db3`` file.

    Args:
        path: the ``.db3`` file.

    Raises:
        sqlite3.DatabaseError: not a database, or its topics table is unreadable.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = self._db.execute("SELECT id, name, type FROM topics").fetchall()
        self.channels: dict[int, tuple[str, str]] = {row[0]: (row[1], row[2]) for row in rows}
        self.damage: str | None = None
        """Where reading stopped (set by :meth:`messages`), or why the file needed walking."""

    def messages(self) -> Iterator[tuple[int, int, bytes]]:
        """Yield ``(topic id, log time ns, CDR data)`` in insertion order until a read fails."""
        last: tuple[int, int] | None = None
        try:
            query = "SELECT id, topic_id, timestamp, data FROM messages ORDER BY id"
            for row_id, topic_id, log_ns, data in self._db.execute(query):
                last = (row_id, log_ns)
                yield topic_id, log_ns, data
        except sqlite3.DatabaseError as err:
            where = (
                "before its first message"
                if last is None
                else f"after message row {last[0]}, logged at {last[1] / _NS_PER_S:.3f} s"
            )
            self.damage = f"{self.path.name}: unreadable {where} (sqlite3: {err})"

    def close(self) -> None:
        """Close the database."""
        self._db.close()
