"""The plugin host: the one owner of lazyplug's plugin state.

:data:`host` holds:

* the pluggy plugin manager, made on first use: the hook specifications, then the built-in
  plugins, then the ``lazyplug`` entry points (:mod:`lazyplug.entrypoints`);
* a :class:`~lazyplug.entrypoints.PluginInfo` for every plugin;
* the fast-path :class:`HookFlags`: whether anything beyond the built-in plugins implements a
  per-call or per-task hook, so that the core skips hooks that would change nothing;
* the tables of names the register hooks fill (launchers, registry schemes, cache strategies);
* the objects made from them once per process (a registry per URL, a store per strategy).

``snapshot()`` and ``restore()`` save and bring back all of it but the objects, for tests.
``import lazyplug`` imports this module, but neither pluggy nor ``importlib.metadata``.
"""

from __future__ import annotations

import importlib
import threading

from .builtin import BUILTIN_PLUGINS, OPTIONAL_BUILTIN_PLUGINS
from .config import config
from .entrypoints import HOOKS_GROUP, PluginInfo
from .errors import PluginRegistrationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    import pluggy

    T = TypeVar('T')

__all__ = ['FLAGS', 'HookFlags', 'HostState', 'PluginHost', 'host']

FLAGS = ('module_call', 'flow_call', 'service_call', 'serve_call', 'collect_tasks', 'run_task', 'task_progress')
"""The hooks with a fast path: ``lazyplug_<flag>`` is skipped while only built-in plugins implement it."""


class HookFlags:
    """Whether each hook of :data:`FLAGS` must be called. All true until the plugins have loaded."""

    __slots__ = FLAGS

    def __init__(self) -> None:
        self.module_call = True
        self.flow_call = True
        self.service_call = True
        self.serve_call = True
        self.collect_tasks = True
        self.run_task = True
        self.task_progress = True

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in FLAGS}


class HostState:
    """What :meth:`PluginHost.snapshot` saved."""

    __slots__ = ('flags', 'infos', 'manager', 'plugins', 'tables')

    def __init__(self, manager: pluggy.PluginManager | None, infos: dict[str, PluginInfo], flags: dict[str, bool],
                 tables: dict[str, Any], plugins: frozenset[int]) -> None:
        self.manager = manager
        self.infos = infos
        self.flags = flags
        self.tables = tables
        self.plugins = plugins


class PluginHost:
    """The plugin manager and everything that depends on which plugins are registered."""

    def __init__(self) -> None:
        self.flags = HookFlags()
        self._lock = threading.RLock()
        self._manager: pluggy.PluginManager | None = None
        self._building: pluggy.PluginManager | None = None  # the manager whose plugins are loading
        self._infos: dict[str, PluginInfo] = {}
        self._watchers: list[Callable[[], None]] = []
        self._tables: dict[str, Any] = {}
        self._instances: dict[tuple[str, Any], Any] = {}
        self._instances_lock = threading.Lock()

    # -- the manager ---------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        """Whether the plugin manager exists (the plugins have loaded)."""
        return self._manager is not None

    def manager(self) -> pluggy.PluginManager:
        """The plugin manager, made with the built-in and entry-point plugins on first use."""
        manager = self._manager
        if manager is None:
            with self._lock:
                if self._manager is None:
                    if self._building is not None:
                        # a plugin being imported calls back into lazyplug (only this thread holds
                        # the lock): it gets the manager as built so far, not a recursion
                        return self._building
                    self._build()
                manager = self._manager
                assert manager is not None
        return manager

    def _build(self) -> None:
        import sys

        import pluggy

        from . import entrypoints, hookspecs
        manager = pluggy.PluginManager(HOOKS_GROUP)
        manager.add_hookspecs(hookspecs)
        infos: dict[str, PluginInfo] = {}
        for name in BUILTIN_PLUGINS:
            infos[name] = self._register_builtin(manager, name)
        self._follow_optional(manager, infos)
        if config['trace_plugins']:
            manager.trace.root.setwriter(sys.stderr.write)
            manager.enable_tracing()
        self._building = manager
        try:
            for info in entrypoints.discover(HOOKS_GROUP):
                if info.status == 'blocked':
                    manager.set_blocked(info.name)
                entrypoints.load(info, lambda info: self._register_entry(manager, info))
                infos[info.name if info.name not in infos else f'{info.name} ({info.distribution})'] = info
        finally:
            self._building = None
        self._infos = infos
        self._manager = manager
        self._changed()

    def _register_entry(self, manager: pluggy.PluginManager, info: PluginInfo) -> None:
        from .entrypoints import import_object
        assert info.value is not None
        info.hooks = _checked_register(manager, import_object(info.value), info.name, info.origin)

    def _register_builtin(self, manager: pluggy.PluginManager, name: str) -> PluginInfo:
        hooks = _checked_register(manager, importlib.import_module(name), name, None)
        return PluginInfo(name, HOOKS_GROUP, name, 'lazyplug', _version(), status='loaded', hooks=hooks, builtin=True)

    def _follow_optional(self, manager: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
        """Register each optional built-in plugin whose setting is on; unregister it when off."""
        for name, setting in OPTIONAL_BUILTIN_PLUGINS.items():
            registered = manager.get_plugin(name) is not None
            if config[setting]:
                if not registered:
                    infos[name] = self._register_builtin(manager, name)
                continue
            if registered:
                manager.unregister(name=name)
            infos[name] = PluginInfo(name, HOOKS_GROUP, name, 'lazyplug', _version(), status='not selected',
                                     error=f'off: the {setting!r} setting turns it on (LAZYPLUG_{setting.upper()}=1)',
                                     builtin=True)

    def follow_optional_settings(self) -> None:
        """Register or unregister the optional built-in plugins to match their settings now."""
        with self._lock:
            if self._manager is not None:
                self._follow_optional(self._manager, self._infos)
                self._changed()

    def register(self, plugin: object, name: str | None = None) -> PluginInfo:
        """Register ``plugin`` at run time, its hooks checked as an entry point's are."""
        manager = self.manager()
        with self._lock:
            key = name or getattr(plugin, '__name__', None) or f'plugin-{id(plugin)}'
            hooks = _checked_register(manager, plugin, key, None)
            info = self._infos[key] = PluginInfo(key, '', status='loaded', hooks=hooks)
            self._changed()
        return info

    def unregister(self, plugin: object) -> None:
        """Unregister a plugin given as the object or by name; an unknown one raises ``KeyError``."""
        manager = self.manager()
        with self._lock:
            name = plugin if isinstance(plugin, str) else manager.get_name(plugin)
            if name is None or manager.get_plugin(name) is None:
                loaded = ', '.join(i.name for i in self._infos.values() if i.status == 'loaded')
                raise KeyError(f'no plugin {plugin!r} is registered (registered: {loaded})')
            manager.unregister(name=name)
            self._infos.pop(name, None)
            self._changed()

    def plugins(self) -> list[PluginInfo]:
        """Every plugin known: built-in first, then entry points in discovery order, then run-time ones."""
        self.manager()
        return list(self._infos.values())

    def reset(self) -> None:
        """Forget the plugin manager; the next hook call builds it again."""
        with self._lock:
            self._manager = None
            self._infos = {}
            self._changed()

    # -- the fast paths --------------------------------------------------------------------------
    def watch(self, watcher: Callable[[], None]) -> None:
        """Call ``watcher()`` now and whenever the flags change.

        A fast path reads a flag once per change rather than once per call (ModuleBase's ``__call__``).
        """
        self._watchers.append(watcher)
        watcher()

    def _set_flags(self, values: dict[str, bool]) -> None:
        for name, value in values.items():
            setattr(self.flags, name, value)
        for watcher in self._watchers:
            watcher()

    def _changed(self) -> None:
        """The registered plugins changed: drop the tables, compute the flags again."""
        self._tables = {}
        manager = self._manager
        if manager is None:
            self._set_flags(dict.fromkeys(FLAGS, True))
            return

        def implemented(hook_name: str) -> bool:
            caller = getattr(manager.hook, hook_name)
            return any(impl.plugin_name not in BUILTIN_PLUGINS for impl in caller.get_hookimpls())

        self._set_flags({name: implemented(f'lazyplug_{name}') for name in FLAGS})

    # -- what plugins register and what is made from it ------------------------------------------
    def table(self, kind: str, collect: Callable[[], T]) -> T:
        """The table of ``kind`` (launchers, say), collected by ``collect()`` once per set of plugins."""
        self.manager()
        tables = self._tables
        if kind not in tables:
            with self._lock:
                tables = self._tables
                if kind not in tables:
                    tables[kind] = collect()
        made: T = tables[kind]
        return made

    def instance(self, kind: str, key: Any, make: Callable[[], T]) -> T:
        """What ``make()`` returns for ``(kind, key)``, made once per process."""
        found = self._instances.get((kind, key))
        if found is None:
            with self._instances_lock:
                found = self._instances.get((kind, key))
                if found is None:
                    found = self._instances[(kind, key)] = make()
        made: T = found
        return made

    def instance_keys(self) -> set[tuple[str, Any]]:
        """The ``(kind, key)`` of every object made so far."""
        return set(self._instances)

    def forget_instances(self, keys: set[tuple[str, Any]]) -> list[Any]:
        """Forget the objects made for ``keys``; the forgotten objects."""
        with self._instances_lock:
            return [self._instances.pop(key) for key in keys if key in self._instances]

    # -- tests ---------------------------------------------------------------------------------
    def snapshot(self) -> HostState:
        """The manager, the plugin infos, the flags and the tables, to :meth:`restore` later."""
        with self._lock:
            manager = self._manager
            registered = frozenset(map(id, manager.get_plugins())) if manager is not None else frozenset()
            return HostState(manager, dict(self._infos), self.flags.as_dict(), dict(self._tables), registered)

    def restore(self, state: HostState) -> None:
        """Bring back what :meth:`snapshot` saved.

        On the same manager, the plugins registered since are unregistered.
        """
        with self._lock:
            manager = state.manager
            if manager is not None and self._manager is manager:
                for plugin in manager.get_plugins():
                    if id(plugin) not in state.plugins:
                        manager.unregister(plugin)
            self._manager = manager
            self._infos = dict(state.infos)
            self._tables = dict(state.tables)
            self._set_flags(state.flags)


def _version() -> str:
    from . import __version__
    return __version__


def _checked_register(manager: pluggy.PluginManager, plugin: object, name: str, origin: str | None) -> tuple[str, ...]:
    """Register ``plugin``, refusing misspelt arguments and hooks that no specification declares."""
    import pluggy
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
        known = sorted(c for c in dir(manager.hook) if c.startswith('lazyplug_') and
                       getattr(manager.hook, c).spec is not None)
        near = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f'; did you mean {near[0]!r}?' if near else ''
        raise PluginRegistrationError(f'{where} implements {unknown[0]!r}, which is no lazyplug hook{hint} '
                                      f'(hooks: {", ".join(known)})')
    return tuple(sorted(c.name for c in callers))


host = PluginHost()
"""The process's plugin host."""


def _declare_plugin_settings(name: str) -> None:
    # Plugins declare their settings when they load, on the first hook call: a name unknown
    # before that may be one of theirs (`config['redis_url'] = ...` early in a program).
    if not host.loaded:
        host.manager()


config.on_unknown_name(_declare_plugin_settings)
