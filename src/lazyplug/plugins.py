"""The public face of lazyplug's plugins: ``hookimpl``, registering and listing plugins.

Hook plugins load the first time a hook is needed: the built-in plugins (``lazyplug.builtin``),
then the ``lazyplug`` entry points of installed distributions, by the rules of
:mod:`lazyplug.entrypoints`. The state behind these functions belongs to :data:`lazyplug.host.host`.

Settings (environment variables):

* ``LAZYPLUG_PLUGINS=a,b``: load only these (entry or distribution names; empty: none).
* ``LAZYPLUG_DISABLED_PLUGINS=a,b``: block these.
* ``LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD=1``: load none but those ``LAZYPLUG_PLUGINS`` names.
* ``LAZYPLUG_STRICT_PLUGINS=1``: raise load errors instead of warning.
* ``LAZYPLUG_TRACE_PLUGINS=1``: trace hook calls to standard error.

The first four apply to module-group entry points (``lazyplug.modules``) too.
"""

from __future__ import annotations

import pluggy

from .entrypoints import HOOKS_GROUP, PluginInfo
from .host import host

__all__ = ['ENTRY_POINT_GROUP', 'PluginInfo', 'get_plugin_manager', 'hookimpl', 'list_plugins', 'register', 'reset',
           'sync_optional_builtins', 'unregister']

ENTRY_POINT_GROUP = HOOKS_GROUP
hookimpl = pluggy.HookimplMarker(HOOKS_GROUP)
"""Marks a function as the implementation of the hook it is named after (see ``lazyplug.hookspecs``)."""


def get_plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, made with the built-in and entry-point plugins on first use."""
    return host.manager()


def register(plugin: object, name: str | None = None) -> PluginInfo:
    """Register a plugin object or module at run time. Its hooks are checked as an entry point's are."""
    return host.register(plugin, name)


def unregister(plugin: object | str) -> None:
    """Unregister a plugin given as the object or by name. An unknown one raises ``KeyError``."""
    host.unregister(plugin)


def list_plugins() -> list[PluginInfo]:
    """Every hook plugin: built-in first, then entry points in discovery order, then run-time ones."""
    return host.plugins()


def sync_optional_builtins() -> None:
    """Register or unregister the optional built-in plugins (progress) to match their settings now.

    Call it after changing such a setting once hooks have been used. A manager made later reads
    the settings itself.
    """
    host.follow_optional_settings()


def reset() -> None:
    """Forget the plugin manager. The next hook call builds it again (tests, settings changes)."""
    host.reset()
