"""Safety-test fixtures: the test-only plug-ins registered on top of the installed ones."""

from __future__ import annotations

import pytest
from safety_plugin_examples import ENTRY_POINTS

from liquid_controller.safety import plugins

_installed = plugins.available_plugins


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register safety_plugin_examples' plug-ins (as a package's metadata would)."""

    def available(kind: plugins.PluginKind) -> tuple:
        return _installed(kind) + tuple(p for p in ENTRY_POINTS if p.group == kind.value)

    monkeypatch.setattr(plugins, "available_plugins", available)
