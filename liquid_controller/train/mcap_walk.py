"""Say where an MCAP file is damaged, by walking its records from the start.

An MCAP file is a magic, then records of ``opcode (1 byte), length (uint64 LE), body``,
then a footer and the magic again. A recording that was killed, or a copy cut short,
ends in the middle of a record and lacks the footer, so readers that start from the
footer (rosbags) refuse the whole file. Walking the records from the start finds the
last complete one and the time span of the complete chunks before it.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["describe_mcap_damage"]

_MAGIC = b"\x89MCAP0\r\n"
_CHUNK = 0x06
_FOOTER = 0x02
_NS_PER_S = 1_000_000_000


def describe_mcap_damage(path: Path) -> str | None:
    """Return where ``path`` stops being a well-formed MCAP file, or ``None`` if it does not.

    The text names the byte offset of the first incomplete or invalid record, the file
    size, the number of complete chunks before it and the log time they reach.
    """
    data = path.read_bytes()
    size = len(data)
    if not data.startswith(_MAGIC):
        return f"{path.name}: not an MCAP file (the magic bytes at its start are missing)"
    offset = len(_MAGIC)
    chunks = 0
    last_end_ns: int | None = None
    while offset < size:
        if offset + 9 > size:
            break
        opcode = data[offset]
        (length,) = struct.unpack_from("<Q", data, offset + 1)
        body = offset + 9
        if body + length > size:
            break
        if opcode == _FOOTER:
            if data.endswith(_MAGIC) and body + length + len(_MAGIC) == size:
                return None
            break
        if opcode == _CHUNK and length >= 16:
            _, end_ns = struct.unpack_from("<QQ", data, body)
            chunks += 1
            last_end_ns = end_ns if last_end_ns is None else max(last_end_ns, end_ns)
        offset = body + length
    reach = (
        "no complete chunk of messages before it"
        if last_end_ns is None
        else f"{chunks} complete chunk(s) of messages before it, up to log time "
        f"{last_end_ns / _NS_PER_S:.3f} s"
    )
    return (
        f"{path.name}: intact up to byte {offset} of {size}, then an incomplete or missing "
        f"record (truncated file: no footer); {reach}"
    )
