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
code. Every problem is reported as a :class:`~liquid_controller.errors.CheckpointError`
naming the file and what is wrong.

Format history:

- 1: first version.
"""

from __future__ import annotations

import json
import os
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
        CheckpointError: ``metadata`` is not JSON-able, or the file cannot be written.
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
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError as err:
        raise CheckpointError(f"cannot write checkpoint '{path}': {err}") from None


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Load and validate a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: the file is missing, not a safetensors file, truncated,
            not a liquid_controller checkpoint, from a newer format version,
            has a missing/malformed metadata key, an invalid config or spec, or a
            tensor that is missing, unexpected, mis-shaped or non-finite. The
            message names the file and the offending key or tensor.
    """
    path = Path(path)
    where = f"checkpoint '{path}'"
    if not path.is_file():
        raise CheckpointError(f"{where}: no such file")
    try:
        with safe_open(os.fspath(path), framework="pt") as reader:
            header = reader.metadata()
            tensors = {name: reader.get_tensor(name) for name in reader.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{where}: not a readable safetensors file (truncated or not a checkpoint): {err}"
        ) from None
    if not header or header.get("format") != FORMAT:
        raise CheckpointError(
            f"{where}: not a liquid_controller policy checkpoint "
            f"(metadata 'format' is {(header or {}).get('format')!r}; expected {FORMAT!r})"
        )
    version = _format_version(where, header)
    config = _json_entry(where, header, "config")
    spec_data = _json_entry(where, header, "spec")
    user_metadata = _json_entry(where, header, "metadata")
    try:
        spec = PolicySpec.from_dict(spec_data)
    except CheckpointError as err:
        raise CheckpointError(f"{where}: {err}") from None
    try:
        policy = LiquidPolicy(config, spec)
    except ConfigError as err:
        raise CheckpointError(f"{where}: invalid architecture config: {err}") from None
    _check_tensors(where, policy.state_dict(), tensors)
    policy.load_state_dict(tensors, strict=True)
    policy.eval()
    return Checkpoint(policy, spec, policy.get_config(), user_metadata, version)


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
    try:
        return json.loads(header[key])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{where}: metadata {key!r} is not valid JSON ({err})") from None


def _check_tensors(
    where: str, expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]
) -> None:
    missing = [name for name in expected if name not in found]
    if missing:
        raise CheckpointError(f"{where}: missing tensor(s) {missing} required by the architecture")
    unexpected = [name for name in found if name not in expected]
    if unexpected:
        raise CheckpointError(f"{where}: unexpected tensor(s) {unexpected} not in the architecture")
    for name, reference in expected.items():
        tensor = found[name]
        if tuple(tensor.shape) != tuple(reference.shape):
            raise CheckpointError(
                f"{where}: tensor {name!r} has shape {tuple(tensor.shape)} in the file; "
                f"the architecture expects {tuple(reference.shape)}"
            )
        if not tensor.is_floating_point():
            raise CheckpointError(
                f"{where}: tensor {name!r} has dtype {tensor.dtype}; expected float"
            )
        if not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise CheckpointError(f"{where}: tensor {name!r} has {bad} non-finite value(s)")
