"""Walk an MCAP file's records from the start: the messages before any damage, and where it is.

An MCAP file is a magic, then records of ``opcode (1 byte), length (uint64 LE), body``,
then a footer and the magic again. A recording that was killed, or a copy cut short,
ends in the middle of a record and lacks the footer, so readers that start from the
footer (rosbags) refuse the whole file. Walking the records from the start recovers
every message of the complete records (chunks decompressed and checked) up to the first
incomplete or invalid one, and says where that is.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

from rosbags.rosbag2.storage_mcap import decompress

__all__ = ["McapWalk", "walk_mcap"]

_MAGIC = b"\x89MCAP0\r\n"
_SCHEMA, _CHANNEL, _MESSAGE, _CHUNK, _FOOTER = 0x03, 0x04, 0x05, 0x06, 0x02
_NS_PER_S = 1_000_000_000


class McapWalk(NamedTuple):
    """What a walk over an MCAP file found.

    Attributes:
        channels: channel id -> ``(topic, message type)``.
        messages: ``(channel id, log time ns, CDR data)`` of every complete message, in
            file order.
        damage: where the file stops being well-formed, or ``None`` when it is intact.
    """

    channels: dict[int, tuple[str, str]]
    messages: list[tuple[int, int, bytes]]
    damage: str | None


def _string(data: bytes, offset: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<I", data, offset)
    end = offset + 4 + length
    if end > len(data):
        raise ValueError("string runs past its record")
    return data[offset + 4 : end].decode(), end


class _Walker:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.channels: dict[int, tuple[str, str]] = {}
        self.messages: list[tuple[int, int, bytes]] = []
        self.last_log_ns: int | None = None

    def records(self, data: bytes, start: int) -> tuple[int, str | None]:
        """Read records of ``data`` from ``start``; return where it stopped and why."""
        offset = start
        while offset < len(data):
            if offset + 9 > len(data):
                return offset, "an incomplete record header"
            opcode = data[offset]
            (length,) = struct.unpack_from("<Q", data, offset + 1)
            body = offset + 9
            if body + length > len(data):
                return offset, f"a record of {length} bytes that the file ends inside"
            if opcode == _FOOTER:
                return offset, None
            try:
                self.record(opcode, data[body : body + length])
            except (ValueError, struct.error, UnicodeDecodeError) as err:
                return offset, f"an invalid record (opcode 0x{opcode:02x}: {err})"
            offset = body + length
        return offset, "no footer"

    def record(self, opcode: int, body: bytes) -> None:
        if opcode == _SCHEMA:
            (schema_id,) = struct.unpack_from("<H", body, 0)
            self.schemas[schema_id], _ = _string(body, 2)
        elif opcode == _CHANNEL:
            channel_id, schema_id = struct.unpack_from("<HH", body, 0)
            topic, _ = _string(body, 4)
            self.channels[channel_id] = (topic, self.schemas.get(schema_id, ""))
        elif opcode == _MESSAGE:
            channel_id, _, log_ns, _ = struct.unpack_from("<HIQQ", body, 0)
            self.messages.append((channel_id, log_ns, body[22:]))
            self.last_log_ns = log_ns
        elif opcode == _CHUNK:
            _, _, size, crc = struct.unpack_from("<QQQI", body, 0)
            compression, offset = _string(body, 28)
            (records_length,) = struct.unpack_from("<Q", body, offset)
            records = body[offset + 8 : offset + 8 + records_length]
            try:
                raw = decompress(records, compression, size, crc)
            except Exception as err:  # noqa: BLE001 - rosbags' ReaderError or a codec's error
                raise ValueError(f"chunk does not decompress: {err}") from None
            kept = len(self.messages)
            stop, problem = self.records(raw, 0)
            if problem is not None and not (problem == "no footer" and stop == len(raw)):
                del self.messages[kept:]
                raise ValueError(f"chunk content: {problem}")


def walk_mcap(path: Path) -> McapWalk:
    """Return the channels and complete messages of ``path`` and where it is damaged."""
    data = path.read_bytes()
    walker = _Walker()
    if not data.startswith(_MAGIC):
        return McapWalk({}, [], f"{path.name}: not an MCAP file (no magic bytes at its start)")
    stop, problem = walker.records(data, len(_MAGIC))
    if problem is None and data.endswith(_MAGIC):
        return McapWalk(walker.channels, walker.messages, None)
    reach = (
        "no complete message before it"
        if walker.last_log_ns is None
        else f"{len(walker.messages)} complete messages before it, the last logged at "
        f"{walker.last_log_ns / _NS_PER_S:.3f} s"
    )
    problem = problem or "a footer without the closing magic"
    return McapWalk(
        walker.channels,
        walker.messages,
        f"{path.name}: intact up to byte {stop} of {len(data)}, then {problem}; {reach}",
    )
