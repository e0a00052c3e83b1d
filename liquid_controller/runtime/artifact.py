"""The exported-artifact file: one numpy ``.npz`` holding arrays plus a JSON config.

An artifact is what ``liquid-controller export`` writes and what the torch-free
runtime loads. It is a plain ``.npz`` archive:

- ``__config__``: a ``uint8`` array holding UTF-8 JSON with at least
  ``{"format": "liquid_controller.artifact", "format_version": 1, "kind": ...}``;
- every other entry: a float array named by where it belongs, e.g.
  ``core.layer0.ff1.weight`` (see :mod:`liquid_controller.runtime.cfc`,
  :mod:`liquid_controller.runtime.ltc`, :mod:`liquid_controller.runtime.encoder`).

It is read with ``allow_pickle=False``, so loading a file never executes code
from it, however it was crafted.

Format history:

- version 1: first format (kinds ``"core"`` and ``"policy"``).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Artifact", "load_artifact", "save_artifact"]

FORMAT_NAME = "liquid_controller.artifact"
FORMAT_VERSION = 1
CONFIG_KEY = "__config__"


@dataclass(frozen=True)
class Artifact:
    """A loaded artifact: its JSON config and its named arrays.

    Attributes:
        config: the parsed JSON config (``format``, ``format_version``, ``kind``, ...).
        arrays: every array entry except the config, by name.
        source: where it was read from (for error messages).
    """

    config: Mapping[str, Any]
    arrays: Mapping[str, npt.NDArray[Any]]
    source: str

    @property
    def kind(self) -> str:
        """What the artifact holds: ``"core"`` (a bare CfC/LTC) or ``"policy"``."""
        return str(self.config["kind"])

    def array(self, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        """Return array ``name`` as float64, checking that it exists and has ``shape``.

        Raises:
            CheckpointError: the array is missing, not numeric, or has another shape.
        """
        value = self.arrays.get(name)
        if value is None:
            raise CheckpointError(f"{self.source}: missing array {name!r}")
        if value.dtype.kind not in "fiub":
            raise CheckpointError(
                f"{self.source}: array {name!r} has dtype {value.dtype}; expected a number type"
            )
        if tuple(value.shape) != tuple(shape):
            raise CheckpointError(
                f"{self.source}: array {name!r} has shape {tuple(value.shape)}; "
                f"expected {tuple(shape)}"
            )
        return np.asarray(value, dtype=np.float64)

    def has(self, name: str) -> bool:
        """Return whether array ``name`` is present."""
        return name in self.arrays


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
            not numeric, or the config is not JSON-serialisable.
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
        entries[name] = np.ascontiguousarray(array)
    entries[CONFIG_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **entries)  # type: ignore[arg-type]


def load_artifact(path: str | os.PathLike[str]) -> Artifact:
    """Read and validate an artifact's header; never executes code from the file.

    Raises:
        CheckpointError: the file is missing, is not an artifact, is from a newer
            format version, or is corrupt.
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise CheckpointError(f"{source}: no such artifact file")
    if not zipfile.is_zipfile(source):
        raise CheckpointError(f"{source}: not a liquid_controller artifact (not an .npz archive)")
    try:
        with np.load(source, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise CheckpointError(
            f"{source}: not a liquid_controller artifact (not a readable .npz: {err})"
        ) from None
    except ValueError as err:
        raise CheckpointError(f"{source}: corrupt or unsafe array entry ({err})") from None
    raw = arrays.pop(CONFIG_KEY, None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(
            f"{source}: not a liquid_controller artifact (no {CONFIG_KEY!r} entry)"
        )
    try:
        config = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise CheckpointError(f"{source}: config entry is not JSON ({err})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(
            f"{source}: not a liquid_controller artifact (format {found!r}; "
            f"expected {FORMAT_NAME!r})"
        )
    version = config.get("format_version")
    if not isinstance(version, int) or version < 1:
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
    return Artifact(config=config, arrays=arrays, source=source)
