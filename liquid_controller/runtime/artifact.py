"""The exported-artifact file: one numpy ``.npz`` holding arrays plus a JSON config.

An artifact is what ``liquid-controller export`` writes and what the torch-free
runtime loads. It is a plain ``.npz`` archive:

- ``__config__``: a ``uint8`` array holding UTF-8 JSON with at least
  ``{"format": "liquid_controller.artifact", "format_version": 1, "kind": ...}``;
- every other entry: a float array named by where it belongs, e.g.
  ``core.layer0.ff1.weight`` (see :mod:`liquid_controller.runtime.cfc`,
  :mod:`liquid_controller.runtime.ltc`, :mod:`liquid_controller.runtime.encoder`).

Reading is bounded and strict, so neither code nor sizes in a file control the
reader (caps in :mod:`liquid_controller.runtime.limits`):

- the file must be a regular file of at most ``MAX_MODEL_BYTES``; its zip
  directory is checked (entry count, directory size, no zip64, no encryption,
  stored or deflated entries) before ``zipfile`` parses it, and the entries'
  declared decompressed sizes must total at most ``MAX_MODEL_BYTES``;
- only ``__config__`` is read at load; every other entry is read when a loader
  asks for it by name (:meth:`Artifact.array`), after its ``.npy`` header's dtype
  (plain numbers only, never objects) and shape have been checked against what
  the loader expects and against the entry's size; float data must be finite;
- entries no loader asked for are rejected (:meth:`Artifact.check_all_read`),
  without being read.

Format history:

- version 1: first format (kinds ``"core"`` and ``"policy"``).
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError, LiquidControllerError
from liquid_controller.runtime.bounded_json import parse_json
from liquid_controller.runtime.limits import (
    MAX_ARTIFACT_ENTRIES,
    MAX_JSON_BYTES,
    MAX_MODEL_BYTES,
)

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Artifact", "load_artifact", "save_artifact"]

FORMAT_NAME = "liquid_controller.artifact"
FORMAT_VERSION = 1
CONFIG_KEY = "__config__"


@dataclass(frozen=True)
class _Entry:
    """One archive member as checked at load: what identifies its content, and its header."""

    member: str
    crc: int
    size: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


class Artifact:
    """A loaded artifact: its JSON config, and its array entries read on demand.

    Attributes:
        config: the parsed JSON config (``format``, ``format_version``, ``kind``, ...).
        source: where it was read from (for error messages).
    """

    def __init__(self, source: str, config: Mapping[str, Any], entries: Mapping[str, _Entry]):
        self.config = config
        self.source = source
        self._entries = dict(entries)
        self._read: set[str] = set()
        self._archive: zipfile.ZipFile | None = None

    @property
    def kind(self) -> str:
        """What the artifact holds: ``"core"`` (a bare CfC/LTC) or ``"policy"``."""
        return str(self.config["kind"])

    @property
    def names(self) -> frozenset[str]:
        """Names of all array entries (the config excluded)."""
        return frozenset(self._entries)

    @property
    def arrays(self) -> Mapping[str, npt.NDArray[Any]]:
        """Every array entry by name, each read (and checked) when looked up."""
        return _LazyArrays(self)

    def array(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        """Return array ``name`` as float64, checking that it exists and has ``shape``.

        The shape is checked from the entry's header, before its data is read.

        Raises:
            CheckpointError: the array is missing, not numeric, has another shape,
                is corrupt or holds a non-finite value.
        """
        if name not in self._entries:
            raise CheckpointError(f"{self.source}: missing array {name!r}")
        return np.array(self.read(name, tuple(shape)), dtype=np.float64)

    def read(self, name: str, shape: tuple[int, ...] | None = None) -> npt.NDArray[Any]:
        """Return entry ``name`` in its stored dtype (read-only), checking ``shape`` if given.

        Raises:
            CheckpointError: as :meth:`array`.
        """
        entry = self._entries.get(name)
        if entry is None:
            raise CheckpointError(f"{self.source}: missing array {name!r}")
        where = f"{self.source}: array {name!r}"
        if self._archive is not None:
            value = _read_entry(self._archive, entry, where, shape)
        else:
            with _open_archive(self.source) as archive:
                value = _read_entry(archive, entry, where, shape)
        self._read.add(name)
        return value

    def has(self, name: str) -> bool:
        """Return whether array ``name`` is present."""
        return name in self._entries

    def check_all_read(self) -> None:
        """Reject entries that no loader asked for (never read).

        Raises:
            CheckpointError: naming the unknown entries.
        """
        unknown = sorted(set(self._entries) - self._read)
        if unknown:
            raise CheckpointError(
                f"{self.source}: unknown entries {unknown[:10]}"
                + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
                + f" that its {self.kind!r} config does not use"
            )

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Build from this artifact in the block, reading entries through one open archive.

        Package errors raised in the block are re-raised as :class:`CheckpointError`
        naming the file.
        """
        try:
            with _open_archive(self.source) as archive:
                self._archive = archive
                yield
        except LiquidControllerError as err:
            message = str(err)
            if isinstance(err, CheckpointError) and message.startswith(self.source):
                raise
            raise CheckpointError(f"{self.source}: {message}") from None
        finally:
            self._archive = None


class _LazyArrays(Mapping[str, npt.NDArray[Any]]):
    def __init__(self, artifact: Artifact) -> None:
        self._artifact = artifact

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        if not self._artifact.has(name):
            raise KeyError(name)
        return self._artifact.read(name)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._artifact.names))

    def __len__(self) -> int:
        return len(self._artifact.names)


def save_artifact(
    path: str | os.PathLike[str],
    *,
    kind: str,
    config: Mapping[str, Any],
    arrays: Mapping[str, npt.ArrayLike],
) -> None:
    """Write an artifact file (``.npz``, uncompressed).

    Args:
        path: destination file; written as given (numpy does not append ``.npz``
            because a file object is used).
        kind: ``"core"`` or ``"policy"``.
        config: JSON-serialisable description; ``format``/``format_version``/``kind``
            are added.
        arrays: named numeric arrays.

    Raises:
        CheckpointError: an array name clashes with the config entry, an array is
            not numeric or not finite, the config is not JSON-serialisable, or the
            artifact would exceed the caps the loader applies.
    """
    header = dict(config)
    header.update(format=FORMAT_NAME, format_version=FORMAT_VERSION, kind=kind)
    try:
        text = json.dumps(header, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"artifact config is not plain JSON: {err}") from None
    entries: dict[str, npt.NDArray[Any]] = {}
    for name, value in arrays.items():
        if name == CONFIG_KEY:
            raise CheckpointError(f"array name {CONFIG_KEY!r} is reserved for the config")
        array = np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise CheckpointError(f"array {name!r} has dtype {array.dtype}; expected a number type")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise CheckpointError(f"array {name!r} holds non-finite values; expected finite")
        entries[name] = np.ascontiguousarray(array)
    entries[CONFIG_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    size = sum(entry.nbytes for entry in entries.values())
    config_size = entries[CONFIG_KEY].nbytes
    if (
        size > MAX_MODEL_BYTES
        or len(entries) > MAX_ARTIFACT_ENTRIES
        or config_size > MAX_JSON_BYTES
    ):  # it could never be loaded back
        raise CheckpointError(
            f"artifact of {len(entries)} entries, {size} bytes, config {config_size} bytes; "
            f"at most {MAX_ARTIFACT_ENTRIES} entries, {MAX_MODEL_BYTES} bytes, config "
            f"{MAX_JSON_BYTES} bytes load"
        )
    with open(path, "wb") as handle:
        np.savez(handle, **entries)  # type: ignore[arg-type]


def load_artifact(path: str | os.PathLike[str]) -> Artifact:
    """Check an artifact's archive and read its config; never executes code from the file.

    Array entries are read later, by name (:meth:`Artifact.array`).

    Raises:
        CheckpointError: the file is missing, too large, not an artifact archive, from a
            newer format version, or corrupt; the message names the file and the entry.
    """
    source = os.fspath(path)
    with _open_archive(source) as archive:
        entries = _check_members(source, archive)
        config_entry = entries.pop(CONFIG_KEY, None)
        if config_entry is None:
            raise CheckpointError(
                f"{source}: not a liquid_controller artifact (no {CONFIG_KEY!r} entry)"
            )
        where = f"{source}: entry {CONFIG_KEY!r}"
        raw = _read_entry(archive, config_entry, where, None)
    config = parse_json(raw.tobytes(), where)
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(
            f"{source}: not a liquid_controller artifact (format {found!r}; "
            f"expected {FORMAT_NAME!r})"
        )
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(
            f"{source}: 'format_version' is {version!r}; expected a positive integer"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{source}: format_version {version} is newer than this runtime reads "
            f"(<= {FORMAT_VERSION}); upgrade liquid_controller"
        )
    if config.get("kind") not in ("core", "policy"):
        raise CheckpointError(
            f"{source}: 'kind' is {config.get('kind')!r}; expected 'core' or 'policy'"
        )
    return Artifact(source, config, entries)


@contextmanager
def _open_archive(source: str) -> Iterator[zipfile.ZipFile]:
    """Open ``source`` as a zip archive once its size and directory are within the caps."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is then rejected.
        handle = os.fdopen(os.open(source, os.O_RDONLY | os.O_NONBLOCK), "rb")
    except FileNotFoundError:
        raise CheckpointError(f"{source}: no such artifact file") from None
    except OSError as err:
        raise CheckpointError(f"{source}: cannot open artifact file ({err.strerror})") from None
    with handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise CheckpointError(f"{source}: not a regular file")
        if status.st_size > MAX_MODEL_BYTES:
            raise CheckpointError(
                f"{source}: {status.st_size} bytes; an artifact is at most {MAX_MODEL_BYTES}"
            )
        try:
            _check_directory(source, handle, status.st_size)
            archive = zipfile.ZipFile(handle)
        except _ZIP_ERRORS as err:
            raise CheckpointError(
                f"{source}: not a liquid_controller artifact (not a readable .npz: {err})"
            ) from None
        with archive:
            yield archive


_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ValueError)
"""What ``zipfile`` raises for damaged archives and members (unsupported versions and
methods included; a name that is not valid UTF-8 is a ``ValueError``)."""


_END_RECORD = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_MAX_DIRECTORY_BYTES = MAX_ARTIFACT_ENTRIES * 1024


def _check_directory(source: str, handle: BinaryIO, size: int) -> None:
    """Bound the zip directory before ``zipfile`` parses it (it builds one object per entry).

    The end record is located as ``zipfile`` does (at the very end, else the last
    signature within the 64 KiB comment window).
    """
    tail_size = min(size, _END_RECORD.size + 0xFFFF + 20)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    last = tail[-_END_RECORD.size :]
    if last.startswith(_END_SIGNATURE) and last.endswith(b"\x00\x00"):
        start = len(tail) - _END_RECORD.size
    else:
        start = tail.rfind(_END_SIGNATURE)
    if start < 0 or len(tail) - start < _END_RECORD.size:
        raise CheckpointError(f"{source}: not a liquid_controller artifact (not an .npz archive)")
    record = _END_RECORD.unpack_from(tail, start)
    entries, directory_size = record[4], record[5]
    if tail[max(start - 20, 0) : start].startswith(_ZIP64_LOCATOR):
        raise CheckpointError(f"{source}: a zip64 archive; artifacts are plain zip (< 4 GiB)")
    if entries > MAX_ARTIFACT_ENTRIES or directory_size > _MAX_DIRECTORY_BYTES:
        raise CheckpointError(
            f"{source}: zip directory of {entries} entries ({directory_size} bytes); an "
            f"artifact has at most {MAX_ARTIFACT_ENTRIES} entries ({_MAX_DIRECTORY_BYTES} bytes)"
        )
    handle.seek(0)


def _check_members(source: str, archive: zipfile.ZipFile) -> dict[str, _Entry]:
    """Map entry names to members; check kinds and the total declared decompressed size."""
    entries: dict[str, _Entry] = {}
    total = 0
    for info in archive.infolist():
        where = f"{source}: entry {info.filename!r}"
        if not info.filename.endswith(".npy") or info.is_dir():
            raise CheckpointError(f"{where} is not an .npy array")
        name = info.filename[: -len(".npy")]
        if name in entries:
            raise CheckpointError(f"{where} appears twice")
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{where} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(
                f"{where} uses zip compression method {info.compress_type}; "
                "expected stored or deflated (numpy.savez / savez_compressed)"
            )
        total += info.file_size
        if total > MAX_MODEL_BYTES:
            raise CheckpointError(
                f"{source}: entries decompress to more than {MAX_MODEL_BYTES} bytes "
                f"(reached at {info.filename!r}); an artifact holds at most that"
            )
        with _reading(where), archive.open(info) as member:
            shape, _, dtype = _read_header(member, where)
            _check_header(where, shape, dtype, config=name == CONFIG_KEY)
            _check_size(where, info, member.tell(), shape, dtype)
        entries[name] = _Entry(info.filename, info.CRC, info.file_size, shape, dtype)
    return entries


@contextmanager
def _reading(where: str) -> Iterator[None]:
    """Report a member that cannot be read or decompressed as a :class:`CheckpointError`."""
    try:
        yield
    except _ZIP_ERRORS as err:
        raise CheckpointError(f"{where}: corrupt entry ({err})") from None


def _check_size(
    where: str, info: zipfile.ZipInfo, offset: int, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> int:
    """Return the data size the header declares, if the member holds exactly that much."""
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size - offset != nbytes:
        raise CheckpointError(
            f"{where}: header declares shape {shape} of {dtype} ({nbytes} bytes) "
            f"but the entry holds {info.file_size - offset} bytes of data"
        )
    return nbytes


_MAX_NPY_HEADER = 10_000
"""Largest ``.npy`` header read (numpy's own default limit)."""


def _read_entry(
    archive: zipfile.ZipFile, entry: _Entry, where: str, shape: tuple[int, ...] | None
) -> npt.NDArray[Any]:
    """Read one ``.npy`` member checked at load; ``shape`` is checked before the data is read."""
    if shape is not None and entry.shape != shape:
        raise CheckpointError(f"{where} has shape {entry.shape}; expected {shape}")
    try:
        info = archive.getinfo(entry.member)
    except KeyError:
        info = None
    if info is None or (info.CRC, info.file_size) != (entry.crc, entry.size):
        raise CheckpointError(f"{where}: the file changed while it was being loaded")
    with _reading(where), archive.open(info) as member:
        stored, fortran, dtype = _read_header(member, where)
        if (stored, dtype) != (entry.shape, entry.dtype):
            raise CheckpointError(f"{where}: the file changed while it was being loaded")
        nbytes = _check_size(where, info, member.tell(), stored, dtype)
        data = member.read(nbytes)
        if len(data) != nbytes or member.read(1):
            raise CheckpointError(f"{where}: truncated data")
    array = np.frombuffer(data, dtype=dtype)
    array = array.reshape(stored[::-1]).T if fortran else array.reshape(stored)
    if dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise CheckpointError(f"{where}: {bad} non-finite value(s); expected finite numbers")
    return array


def _read_header(member: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(member, max_header_size=_MAX_NPY_HEADER)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(member, max_header_size=_MAX_NPY_HEADER)
        else:
            raise ValueError(f".npy format version {version}; expected 1.0 or 2.0")
    except (ValueError, SyntaxError, TypeError, RecursionError) as err:
        raise CheckpointError(f"{where}: not a valid .npy header ({err})") from None
    stored_shape, fortran, dtype = header
    return tuple(stored_shape), bool(fortran), dtype


def _check_header(
    where: str, stored: tuple[int, ...], dtype: np.dtype[Any], *, config: bool
) -> None:
    if config:
        if dtype != np.uint8 or len(stored) != 1 or stored[0] > MAX_JSON_BYTES:
            raise CheckpointError(
                f"{where}: {dtype} array of shape {stored}; expected UTF-8 JSON "
                f"as a 1-D uint8 array of at most {MAX_JSON_BYTES} bytes"
            )
        return
    if (
        dtype.hasobject
        or dtype.fields is not None
        or dtype.subdtype is not None
        or (dtype.kind not in "fiub")
    ):
        raise CheckpointError(f"{where} has dtype {dtype}; expected a number type")
    if any(d < 0 for d in stored):
        raise CheckpointError(f"{where}: header declares negative shape {stored}")
