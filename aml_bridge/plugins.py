"""The plugin manager: specs, then `aml_bridge` entry points, then built-in plugins.

Built-in behaviour registers exactly like a third-party plugin would; the fallbacks in
`default_plugins` are `trylast`, so an installed backend wins.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import pluggy

from . import hookspecs, settings

PROJECT = "aml_bridge"
DEFAULT_PLUGINS = (
    "aml_bridge.default_plugins.fallbacks",
    "aml_bridge.default_plugins.secrets",
)

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def build_plugin_manager(load_entrypoints: bool = True) -> pluggy.PluginManager:
    """A fresh manager; tests use this to register inline plugins in isolation."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        _load_entrypoints(pm)
    for name in DEFAULT_PLUGINS:
        module = importlib.import_module(name)
        if not pm.is_registered(module):
            pm.register(module, name=name)
    pm.check_pending()
    return pm


def _load_entrypoints(pm: pluggy.PluginManager) -> None:
    disabled = {n.strip() for n in (settings.AML_BRIDGE_DISABLE_PLUGINS.get() or "").split(",") if n.strip()}
    for name in sorted(disabled):
        pm.set_blocked(name)
    pm.load_setuptools_entrypoints(PROJECT)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, built on first use (importing no backend before that)."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                _manager = build_plugin_manager()
    return _manager


def set_plugin_manager(pm: pluggy.PluginManager | None) -> None:
    """Replace the process-wide manager (None rebuilds it on next use)."""
    global _manager
    _manager = pm


class _Hooks:
    """Keyword-only facade over `pm.hook` so call sites read as plain function calls."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_plugin_manager().hook, name)


hooks = _Hooks()

__all__ = ["DEFAULT_PLUGINS", "build_plugin_manager", "get_plugin_manager", "hooks", "set_plugin_manager"]
