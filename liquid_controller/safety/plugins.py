"""Plug-in barriers and force-limit functions: registered names, never import paths.

A config names a plug-in by the name an installed package registered for it in an
entry-point group, the way ROS ``pluginlib`` finds plugins through the description files
packages export; nothing else is imported. So a config file, or a ``safety_config``
parameter change from anywhere on the ROS graph, can choose among the functions installed
packages declare, but cannot import an arbitrary module (and run its import-time code).

Groups (a package's metadata: ``[project.entry-points."<group>"]`` in pyproject.toml,
``[options.entry_points]`` in setup.cfg, ``entry_points=`` in an ament_python setup.py):

- :data:`BARRIER_GROUP`: ``name = "module:function"`` with
  :class:`~.barriers.BarrierFunction`'s signature, used as ``barriers[i].function: name``;
- :data:`FORCE_LIMIT_GROUP`: functions ``(state, params) -> (A, lower, upper)``, used as
  ``force_limits[i].function: name``.

Each resolved function must accept ``(state, params)``; the constraint builder then calls
it once at load on the config's nominal state (see :mod:`.constraints`), so a plug-in that
raises or returns wrong shapes or non-finite terms fails the load, not the control loop.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from liquid_controller.errors import ConfigError

__all__ = [
    "BARRIER_GROUP",
    "FORCE_LIMIT_GROUP",
    "PluginKind",
    "available_plugins",
    "resolve_plugin",
]

BARRIER_GROUP = "liquid_controller.barriers"
FORCE_LIMIT_GROUP = "liquid_controller.force_limits"


class PluginKind(enum.Enum):
    """Which entry-point group a plug-in name is looked up in."""

    BARRIER = BARRIER_GROUP
    FORCE_LIMIT = FORCE_LIMIT_GROUP


def available_plugins(kind: PluginKind) -> tuple[EntryPoint, ...]:
    """Return every entry point registered in ``kind``'s group by the installed packages.

    Read anew on each call (a package installed since start-up counts), unloaded.
    """
    return tuple(entry_points(group=kind.value))


def resolve_plugin(key: str, kind: PluginKind, name: str) -> Callable[..., Any]:
    """Load the plug-in registered as ``name`` and check that it takes ``(state, params)``.

    Args:
        key: the config key naming it, for errors (``barriers[2].function``).
        kind: the group to look in.
        name: the registered name.

    Raises:
        ConfigError: ``name`` is not registered (or registered twice, to different
            functions), its module fails to import, or it is not a function of
            ``(state, params)``.
    """
    registered = available_plugins(kind)
    targets = sorted({point.value for point in registered if point.name == name})
    if not targets:
        names = ", ".join(sorted({point.name for point in registered})) or "none registered"
        hint = (
            " ('module:function' references are not imported: register the function "
            "under a name and give that name)"
            if ":" in name
            else ""
        )
        raise ConfigError(
            key, name, f"a plug-in name registered in entry-point group '{kind.value}' "
            f"({names}){hint}; README 'Safety filter' shows how to register one",
        )  # fmt: skip
    if len(targets) > 1:
        raise ConfigError(key, name, f"a name registered once (it names {', '.join(targets)})")
    point = next(p for p in registered if p.name == name)
    try:
        function = point.load()
    except Exception as err:  # the registering package's own code failed: report, not crash
        raise ConfigError(
            key, name, f"a loadable plug-in ({point.value}: {type(err).__name__}: {err})"
        ) from None
    try:
        inspect.signature(function).bind(None, None)
    except (TypeError, ValueError):  # not callable, no signature, or another arity
        raise ConfigError(
            key, name, f"a function of (state, params) (registered {point.value} is not)"
        ) from None
    return function  # type: ignore[no-any-return]
