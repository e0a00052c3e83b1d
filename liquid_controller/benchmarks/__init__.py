"""Benchmark suites run by ``liquid-controller bench``: ours against peers, side by side.

Benchmarks are not tests. Each suite measures our implementation and its peers
in the same run and states its goals as ratios against those peers, never as
absolute times. A suite is a module in this package with this shape:

- ``run(quick: bool = False) -> dict``: measure everything and return a
  JSON-serialisable result (``quick``: fewer repetitions, for a smoke run);
- ``to_markdown(result: dict) -> str``: the results page, with the machine,
  the date, the numbers and a verdict per goal;
- ``write_results(result: dict, out_dir: Path) -> tuple[Path, Path]``: write
  ``<suite>.md`` and ``<suite>.json`` into ``out_dir`` and return both paths.

Suites may import torch, ncps or onnxruntime, but only inside their functions,
so importing this package stays cheap. Register a suite in :data:`SUITES`.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from liquid_controller.errors import ConfigError

__all__ = ["DEFAULT_OUT_DIR", "SUITES", "load_suite", "write_suite_files"]

SUITES: dict[str, str] = {
    "core": "liquid_controller.benchmarks.core",
    "barriernet": "liquid_controller.benchmarks.barriernet",
    "safety": "liquid_controller.benchmarks.safety",
    "sim": "liquid_controller.benchmarks.sim",
    "training": "liquid_controller.benchmarks.training",
    "replay": "liquid_controller.benchmarks.replay",
}
"""Suite name -> module implementing the shape above, in the order ``all`` runs them."""

DEFAULT_OUT_DIR = Path("bench") / "results"
"""Where results go by default, relative to the working directory."""


def load_suite(name: str) -> ModuleType:
    """Import and return the suite module registered as ``name``.

    Raises:
        ConfigError: ``name`` is not a registered suite.
    """
    if name not in SUITES:
        raise ConfigError("suite", name, f"one of {sorted(SUITES)} or 'all'")
    return importlib.import_module(SUITES[name])


def write_suite_files(
    name: str, result: dict[str, Any], markdown: str, out_dir: Path
) -> tuple[Path, Path]:
    """Write ``<name>.md`` (``markdown``) and ``<name>.json`` (``result``); return both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / f"{name}.md", out_dir / f"{name}.json"
    md.write_text(markdown, encoding="utf-8")
    js.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return md, js
