"""The plugin manager: built-in plugins, entry-point plugins, isolation and listing.

The manager is created the first time a hook is needed: it adds the specifications of
``lazyplug.hookspecs``, registers the built-in plugins, then loads the ``lazyplug`` entry points
one by one. This loop is lazyplug's own rather than pluggy's ``load_setuptools_entrypoints``: a
plugin that fails to import or to register is warned about once (naming the entry point, its
distribution, version and error) and left out while the rest load; two distributions declaring
the same entry name give a warning naming both. Every plugin gets a :class:`PluginInfo`.

Settings (environment variables): ``LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry-point
plugin except those named in ``LAZYPLUG_PLUGINS``; ``LAZYPLUG_PLUGINS=a,b`` loads only these
(entry or distribution names; empty: none); ``LAZYPLUG_DISABLED_PLUGINS=a,b`` blocks these;
``LAZYPLUG_STRICT_PLUGINS=1`` raises load errors; ``LAZYPLUG_TRACE_PLUGINS=1`` traces hook calls
to stderr.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import pluggy

from . import _hookcalls, hookspecs
from .builtin import BUILTIN_PLUGINS, OPTIONAL_BUILTIN_PLUGINS
from .config import config
from .errors import PluginLoadError, PluginRegistrationError, PluginWarning

__all__ = ['ENTRY_POINT_GROUP', 'PluginInfo', 'apply_settings', 'get_plugin_manager', 'hookimpl', 'list_plugins',
           'register', 'reset', 'unregister']

ENTRY_POINT_GROUP = 'lazyplug'
hookimpl = pluggy.HookimplMarker('lazyplug')
"""Marks a function as the implementation of the hook it is named after (see ``lazyplug.hookspecs``)."""


@dataclass(frozen=True)
class PluginInfo:
    """What is known of one plugin. ``status`` is ``loaded``, ``failed``, ``blocked``, ``not selected``
    or ``duplicate``; ``error`` says why a plugin is not loaded."""

    name: str
    status: str
    distribution: str | None = None
    version: str | None = None
    entry_point: str | None = None
    hooks: tuple[str, ...] = ()
    error: str | None = None
    builtin: bool = False


_lock = threading.RLock()
_manager: pluggy.PluginManager | None = None
_partial: pluggy.PluginManager | None = None  # the manager being built, while its plugins load
_infos: dict[str, PluginInfo] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, created with the built-in and entry-point plugins on first use."""
    if _manager is None:
        with _lock:
            if _manager is None:
                if _partial is not None:
                    # a plugin being imported calls back into lazyplug (only this thread holds
                    # the lock): it gets the manager as built so far instead of a recursion
                    return _partial
                _create()
    assert _manager is not None
    return _manager


def _create() -> None:
    global _manager, _partial
    manager = pluggy.PluginManager('lazyplug')
    manager.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for module_name in BUILTIN_PLUGINS:
        plugin = importlib.import_module(module_name)
        hooks = _checked_register(manager, plugin, module_name, None)
        infos[module_name] = PluginInfo(module_name, 'loaded', 'lazyplug', _version(), module_name, hooks,
                                        builtin=True)
    for module_name in OPTIONAL_BUILTIN_PLUGINS:
        _apply_optional(manager, infos, module_name)
    if config['trace_plugins']:
        manager.trace.root.setwriter(sys.stderr.write)
        manager.enable_tracing()
    _partial = manager
    try:
        _load_entry_points(manager, infos)
    finally:
        _partial = None
    _infos.clear()
    _infos.update(infos)
    _manager = manager
    _hookcalls.attach(manager, frozenset(BUILTIN_PLUGINS))


def _apply_optional(manager: pluggy.PluginManager, infos: dict[str, PluginInfo], module_name: str) -> None:
    """Register the optional built-in plugin ``module_name`` if its setting is on, unregister it if off."""
    setting = OPTIONAL_BUILTIN_PLUGINS[module_name]
    registered = manager.get_plugin(module_name) is not None
    if config[setting] and not registered:
        plugin = importlib.import_module(module_name)
        hooks = _checked_register(manager, plugin, module_name, None)
        infos[module_name] = PluginInfo(module_name, 'loaded', 'lazyplug', _version(), module_name, hooks,
                                        builtin=True)
    elif not config[setting]:
        if registered:
            manager.unregister(name=module_name)
        why = f'off: the {setting!r} setting turns it on (LAZYPLUG_{setting.upper()}=1)'
        infos[module_name] = PluginInfo(module_name, 'not selected', 'lazyplug', _version(), module_name,
                                        error=why, builtin=True)


def apply_settings() -> None:
    """Register or unregister the optional built-in plugins (progress) to match their settings now.

    Call it after changing such a setting with ``config[...] = ...`` once hooks have been used;
    a plugin manager created later reads the settings itself.
    """
    with _lock:
        manager = _manager
        if manager is None:
            return
        for module_name in OPTIONAL_BUILTIN_PLUGINS:
            _apply_optional(manager, _infos, module_name)
        _hookcalls.attach(manager, frozenset(BUILTIN_PLUGINS))


def _version() -> str:
    from . import __version__
    return __version__


def _normal(name: str) -> str:
    return name.lower().replace('_', '-').replace('.', '-')


def _named(names: tuple[str, ...] | None, entry: str, dist: str | None) -> bool:
    wanted = {_normal(n) for n in names or ()}
    return _normal(entry) in wanted or (dist is not None and _normal(dist) in wanted)


def _describe(dist: str | None, version: str | None) -> str:
    return f'distribution {dist} {version}' if dist else 'an unknown distribution'


def _load_entry_points(manager: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
    only = config['plugins']
    disabled = config['disabled_plugins']
    autoload = not config['disable_plugin_autoload']
    strict = config['strict_plugins']
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.metadata['Name'] if ep.dist is not None else None
        version = ep.dist.version if ep.dist is not None else None
        known = infos.get(ep.name)
        if known is not None:
            if known.distribution == dist and known.entry_point == ep.value:
                continue  # the same distribution seen twice on sys.path
            warnings.warn(f'lazyplug plugin {ep.name!r} is declared by {_describe(known.distribution, known.version)} '
                          f'and by {_describe(dist, version)}; the second is left out', PluginWarning, stacklevel=2)
            infos[f'{ep.name} ({dist})'] = PluginInfo(ep.name, 'duplicate', dist, version, ep.value,
                                                      error=f'entry name taken by {known.distribution}')
            continue
        base = PluginInfo(ep.name, 'loaded', dist, version, ep.value)
        if _named(disabled, ep.name, dist):
            manager.set_blocked(ep.name)
            infos[ep.name] = _replace(base, status='blocked', error='named in LAZYPLUG_DISABLED_PLUGINS')
            continue
        if not (autoload or _named(only, ep.name, dist)) or (only is not None and not _named(only, ep.name, dist)):
            why = 'not named in LAZYPLUG_PLUGINS' if autoload else 'LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD is set'
            infos[ep.name] = _replace(base, status='not selected', error=why)
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            message = (f'lazyplug plugin {ep.name!r} ({ep.value}) from {_describe(dist, version)} failed to import '
                       f'and is left out: {type(exc).__name__}: {exc}')
            if strict:
                raise PluginLoadError(message) from exc
            warnings.warn(message, PluginWarning, stacklevel=2)
            infos[ep.name] = _replace(base, status='failed', error=f'{type(exc).__name__}: {exc}')
            continue
        try:
            hooks = _checked_register(manager, plugin, ep.name, f'{_describe(dist, version)}')
        except PluginRegistrationError as exc:
            if strict:
                raise
            warnings.warn(f'{exc}; it is left out', PluginWarning, stacklevel=2)
            infos[ep.name] = _replace(base, status='failed', error=str(exc))
            continue
        infos[ep.name] = _replace(base, hooks=hooks)


def _replace(info: PluginInfo, **changes: Any) -> PluginInfo:
    from dataclasses import replace
    return replace(info, **changes)


def _checked_register(manager: pluggy.PluginManager, plugin: object, name: str,
                      origin: str | None) -> tuple[str, ...]:
    """Register ``plugin``, refusing misspelt arguments and hooks that no specification declares."""
    where = f'plugin {name!r}' + (f' from {origin}' if origin else '')
    try:
        manager.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginRegistrationError(f'{where} was refused: {exc}') from exc
    callers = manager.get_hookcallers(plugin) or []
    unknown = [c.name for c in callers if c.spec is None and not all(
        impl.optionalhook for impl in c.get_hookimpls() if impl.plugin is plugin)]
    if unknown:
        manager.unregister(plugin)
        import difflib
        known = sorted(n for n in dir(hookspecs) if n.startswith('lazyplug_'))
        near = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f'; did you mean {near[0]!r}?' if near else ''
        raise PluginRegistrationError(f'{where} implements {unknown[0]!r}, which is no lazyplug hook{hint} '
                                      f'(hooks: {", ".join(known)})')
    return tuple(sorted(c.name for c in callers))


def register(plugin: object, name: str | None = None) -> PluginInfo:
    """Register a plugin object or module at run time (its hooks are checked as for entry points)."""
    manager = get_plugin_manager()
    with _lock:
        key = name or getattr(plugin, '__name__', None) or f'plugin-{id(plugin)}'
        hooks = _checked_register(manager, plugin, key, None)
        info = PluginInfo(key, 'loaded', hooks=hooks)
        _infos[key] = info
        _hookcalls.attach(manager, frozenset(BUILTIN_PLUGINS))
    return info


def unregister(plugin: object | str) -> None:
    """Unregister a plugin given as the object or by name; an unknown one raises ``KeyError``."""
    manager = get_plugin_manager()
    with _lock:
        name = plugin if isinstance(plugin, str) else manager.get_name(plugin)
        if name is None or manager.get_plugin(name) is None:
            raise KeyError(f'no plugin {plugin!r} is registered (registered: {", ".join(_loaded_names())})')
        manager.unregister(name=name)
        _infos.pop(name, None)
        _hookcalls.attach(manager, frozenset(BUILTIN_PLUGINS))


def _loaded_names() -> list[str]:
    return [i.name for i in _infos.values() if i.status == 'loaded']


def list_plugins() -> list[PluginInfo]:
    """Every plugin known: built-in first, then entry points in discovery order, then run-time ones."""
    get_plugin_manager()
    return list(_infos.values())


def reset() -> None:
    """Forget the plugin manager; the next hook call builds it again (tests, settings changes)."""
    global _manager
    with _lock:
        _manager = None
        _infos.clear()
        _hookcalls.attach(None)
