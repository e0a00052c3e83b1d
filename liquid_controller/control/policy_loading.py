"""Load a policy file, whichever kind it is: the torch-free artifact or a torch checkpoint.

Dispatch is on the file's content, not its name:

- a zip archive (``.npz``) is an exported artifact (``liquid-controller export``), run by
  the numpy-only :mod:`liquid_controller.runtime` — what a robot without torch uses;
- anything else is taken for a torch checkpoint (safetensors + JSON,
  :mod:`liquid_controller.models.checkpoint`), which needs torch. torch is imported only
  on this path, and its absence is reported as a :class:`CheckpointError` saying how to
  get a torch-free artifact instead.

Neither loader executes code from the file.
"""

from __future__ import annotations

import os
import zipfile

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.spec import Policy

__all__ = ["load_policy", "is_artifact"]


def is_artifact(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an exported artifact rather than a checkpoint.

    A ``.npz`` name counts even when the bytes are damaged, so that the error names the
    artifact format the user meant, not the checkpoint format.
    """
    source = os.fspath(path)
    return source.lower().endswith(".npz") or zipfile.is_zipfile(source)


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Load the policy in ``path``, ready to step (hidden state at its initial value).

    Args:
        path: an exported ``.npz`` artifact or a torch checkpoint.

    Raises:
        CheckpointError: the file is missing, is neither kind, is corrupt, or is a torch
            checkpoint on a machine without torch (the message says how to export it).
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise CheckpointError(f"model file '{source}': no such file")
    if is_artifact(source):
        from liquid_controller.runtime.policy import RuntimePolicy

        return RuntimePolicy.load(source)
    try:
        from liquid_controller.models.checkpoint import load_checkpoint
        from liquid_controller.models.policy import TorchPolicy
    except ImportError as err:
        raise CheckpointError(
            f"model file '{source}' is not an exported .npz artifact, so it is loaded as a "
            f"torch checkpoint, which needs torch and safetensors ({err}); install them "
            "(pip install 'liquid_controller[torch]') or export a torch-free artifact on a "
            "machine with torch: liquid-controller export CHECKPOINT --out policy.npz"
        ) from None
    return TorchPolicy(load_checkpoint(source).policy)
