"""One-file policy checkpoints: safetensors weights + JSON metadata, never pickle.

File layout (a standard `safetensors <https://huggingface.co/docs/safetensors>`_
file, readable by any safetensors reader):

- tensors: the :class:`~liquid_controller.models.policy.LiquidPolicy` state
  dict (names as documented in :mod:`liquid_controller.models.policy`), float32;
- string metadata:

  - ``format``: ``"liquid_controller.policy"``;
  - ``format_version``: ``"1"`` (see the history below);
  - ``config``: JSON, the complete architecture config
    (:meth:`LiquidPolicy.get_config`), which includes the wiring's class,
    arguments, seed and both adjacency matrices;
  - ``spec``: JSON, :meth:`PolicySpec.to_dict` (names, units, normalisation);
  - ``metadata``: JSON object of free-form user data (training run, dataset ...);
  - ``created_by``: the writing package and version.

Loading parses only JSON and raw tensor bytes, so a model file cannot run
code, and is bounded (see :func:`load_checkpoint`), so its sizes cannot exhaust
memory. Every problem is reported as a :class:`~liquid_controller.errors.CheckpointError`
naming the file and what is wrong.

Format history:

- 1: first version.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from liquid_controller import __version__
from liquid_controller.errors import CheckpointError, ConfigError
from liquid_controller.models.policy import LiquidPolicy
from liquid_controller.runtime.bounded_json import parse_json
from liquid_controller.runtime.limits import MAX_JSON_BYTES, MAX_MODEL_BYTES
from liquid_controller.runtime.spec import PolicySpec

__all__ = ["FORMAT", "FORMAT_VERSION", "Checkpoint", "load_checkpoint", "save_checkpoint"]

FORMAT = "liquid_controller.policy"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint."""

    policy: LiquidPolicy
    """The network, weights loaded, in eval mode."""
    spec: PolicySpec
    """Observation/action contract (also ``policy.spec``)."""
    config: dict[str, Any]
    """Complete architecture config."""
    metadata: dict[str, Any]
    """Free-form user metadata saved with it."""
    format_version: int
    """Format version of the file."""


def save_checkpoint(
    path: str | os.PathLike[str],
    policy: LiquidPolicy,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write ``policy`` (architecture, wiring, weights, spec) to one file, atomically.

    Args:
        path: destination; its directory must exist. Replaced if present.
        policy: the network; its ``spec`` is saved with it.
        metadata: JSON-able free-form data stored alongside (e.g. the training run).

    Raises:
        CheckpointError: ``metadata`` is not JSON-able, the file would exceed
            ``MAX_MODEL_BYTES`` (it could not be loaded), or it cannot be written.
    """
    try:
        user_metadata = json.dumps(dict(metadata or {}), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint metadata is not JSON-able: {err}") from None
    header = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(policy.get_config()),
        "spec": json.dumps(policy.spec.to_dict()),
        "metadata": user_metadata,
        "created_by": f"liquid_controller {__version__}",
    }
    too_large = [key for key, text in header.items() if len(text) > MAX_JSON_BYTES]
    if too_large:  # it could never be loaded back
        raise CheckpointError(f"checkpoint metadata {too_large} over {MAX_JSON_BYTES} bytes")
    tensors = {
        name: tensor.detach().to("cpu", torch.float32).contiguous()
        for name, tensor in policy.state_dict().items()
    }
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(handle)
        try:
            save_file(tensors, temporary, metadata=header)
            size = os.path.getsize(temporary)
            if size > MAX_MODEL_BYTES:  # it could never be loaded back
                raise CheckpointError(
                    f"checkpoint '{path}' would be {size} bytes; at most {MAX_MODEL_BYTES} load"
                )
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError as err:
        raise CheckpointError(f"cannot write checkpoint '{path}': {err}") from None


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Load and validate a checkpoint written by :func:`save_checkpoint`.

    Bounded: the file is at most ``MAX_MODEL_BYTES``; its JSON entries are size- and
    depth-capped; the spec and architecture are checked against the caps of
    :mod:`liquid_controller.runtime.limits`, and the architecture is first built on
    torch's ``meta`` device (shapes only, no memory) and compared with the stored
    tensors' shapes and dtypes as the file's header declares them. Only then is the
    network built and are the tensors read (each checked finite).

    Raises:
        CheckpointError: the file is missing, too large, not a safetensors file, truncated,
            not a liquid_controller checkpoint, from a newer format version, has a
            missing/malformed metadata key, an invalid or oversized config or spec, or a
            tensor that is missing, unexpected, mis-shaped or non-finite. The message
            names the file and the offending key or tensor.
    """
    path = Path(path)
    where = f"checkpoint '{path}'"
    _check_file(where, path)
    try:
        with safe_open(os.fspath(path), framework="pt") as reader:
            header = reader.metadata()
            stored = {name: reader.get_slice(name) for name in reader.keys()}  # noqa: SIM118
            shapes = {name: tuple(part.get_shape()) for name, part in stored.items()}
            dtypes = {name: part.get_dtype() for name, part in stored.items()}
            if not header or header.get("format") != FORMAT:
                raise CheckpointError(
                    f"{where}: not a liquid_controller policy checkpoint "
                    f"(metadata 'format' is {(header or {}).get('format')!r}; expected {FORMAT!r})"
                )
            version = _format_version(where, header)
            config = _json_entry(where, header, "config")
            spec_data = _json_entry(where, header, "spec")
            user_metadata = _json_entry(where, header, "metadata")
            spec = _spec(where, spec_data)
            policy = _build_policy(where, config, spec, shapes, dtypes)
            tensors = {name: _finite_tensor(where, name, reader) for name in shapes}
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"{where}: {_not_readable(path)} (truncated or not a checkpoint): {err}"
        ) from None
    policy.load_state_dict(tensors, strict=True)
    policy.eval()
    return Checkpoint(policy, spec, policy.get_config(), user_metadata, version)


_FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
"""safetensors dtype names of the floating tensors a checkpoint may hold."""


def _check_file(where: str, path: Path) -> None:
    try:
        status = path.stat()
    except OSError:
        raise CheckpointError(f"{where}: no such file") from None
    if not stat.S_ISREG(status.st_mode):
        raise CheckpointError(f"{where}: not a regular file")
    if status.st_size > MAX_MODEL_BYTES:
        raise CheckpointError(
            f"{where}: {status.st_size} bytes; a checkpoint is at most {MAX_MODEL_BYTES}"
        )


def _not_readable(path: Path) -> str:
    """Say which format failed: an ``.npz`` (zip) is an artifact, not a broken checkpoint."""
    try:
        with open(path, "rb") as handle:
            zip_like = handle.read(4) == b"PK\x03\x04"
    except OSError:
        zip_like = False
    if zip_like or path.suffix == ".npz":
        return "not a readable .npz artifact (a damaged zip archive) nor a safetensors checkpoint"
    return "not a readable safetensors file"


def _spec(where: str, data: Any) -> PolicySpec:
    if not isinstance(data, Mapping):
        raise CheckpointError(
            f"{where}: metadata 'spec' is {type(data).__name__}; expected an object"
        )
    try:
        return PolicySpec.from_dict(data)
    except CheckpointError as err:
        raise CheckpointError(f"{where}: {err}") from None


def _build_policy(
    where: str,
    config: Any,
    spec: PolicySpec,
    shapes: Mapping[str, tuple[int, ...]],
    dtypes: Mapping[str, str],
) -> LiquidPolicy:
    """Build the network once its caps hold and its parameter shapes match the stored ones."""
    core = config.get("core") if isinstance(config, Mapping) else None
    wiring = core.get("wiring") if isinstance(core, Mapping) else None
    if isinstance(wiring, Mapping):
        # A saved wiring carries its matrices; regenerating them would run its random
        # draws in Python loops sized by the file.
        absent = [k for k in _WIRING_KEYS if wiring.get(k) is None]
        if absent:
            raise CheckpointError(
                f"{where}: invalid architecture config: 'core.wiring' lacks {absent} "
                "(save_checkpoint stores the complete wiring)"
            )
    try:
        with torch.device("meta"):
            skeleton = LiquidPolicy(config, spec)
        _check_tensors(where, skeleton.state_dict(), shapes, dtypes)
        return LiquidPolicy(config, spec)
    except ConfigError as err:
        raise CheckpointError(f"{where}: invalid architecture config: {err}") from None


_WIRING_KEYS = ("input_dim", "adjacency_matrix", "sensory_adjacency_matrix")


def _format_version(where: str, header: Mapping[str, str]) -> int:
    text = header.get("format_version")
    if text is None:
        raise CheckpointError(f"{where}: missing metadata key 'format_version'")
    try:
        version = int(text)
    except ValueError:
        raise CheckpointError(
            f"{where}: 'format_version' is {text!r}; expected an integer"
        ) from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{where}: format version {version} is from a newer liquid_controller; "
            f"this version ({__version__}) reads versions up to {FORMAT_VERSION}"
        )
    if version < 1:
        raise CheckpointError(f"{where}: 'format_version' is {version}; expected >= 1")
    return version


def _json_entry(where: str, header: Mapping[str, str], key: str) -> Any:
    if key not in header:
        raise CheckpointError(f"{where}: missing metadata key {key!r}")
    return parse_json(header[key], f"{where}: metadata {key!r}")


def _check_tensors(
    where: str,
    expected: Mapping[str, torch.Tensor],
    shapes: Mapping[str, tuple[int, ...]],
    dtypes: Mapping[str, str],
) -> None:
    """Compare the architecture's tensors with the stored ones, as the file declares them."""
    missing = [name for name in expected if name not in shapes]
    if missing:
        raise CheckpointError(f"{where}: missing tensor(s) {missing} required by the architecture")
    unexpected = [name for name in shapes if name not in expected]
    if unexpected:
        raise CheckpointError(f"{where}: unexpected tensor(s) {unexpected} not in the architecture")
    for name, reference in expected.items():
        if shapes[name] != tuple(reference.shape):
            raise CheckpointError(
                f"{where}: tensor {name!r} has shape {shapes[name]} in the file; "
                f"the architecture expects {tuple(reference.shape)}"
            )
        if dtypes[name] not in _FLOAT_DTYPES:
            raise CheckpointError(
                f"{where}: tensor {name!r} has dtype {dtypes[name]}; "
                f"expected one of {_FLOAT_DTYPES}"
            )


def _finite_tensor(where: str, name: str, reader: Any) -> torch.Tensor:
    tensor: torch.Tensor = reader.get_tensor(name)
    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise CheckpointError(f"{where}: tensor {name!r} has {bad} non-finite value(s)")
    return tensor
