"""Launchers, service registries and cache stores by name: what plugins register, and making them.

Plugins name what they provide through three register hooks (:mod:`lazyplug.hookspecs`), so
every name is known before anything is made:

* ``lazyplug_register_launchers``: launcher names (``local``, ``thread``, ...);
* ``lazyplug_register_service_registries``: registry URL schemes (``memory``, ``sqlite``, ...);
* ``lazyplug_register_cache_stores``: cache strategies (``memory``, ``sqlite``, ``file``, ...).

The rules:

* A name is registered once. Built-in plugins register first; a later plugin registering a taken
  name is warned about and left out (``LAZYPLUG_STRICT_PLUGINS=1``: raised).
* A plugin whose hook raises registers nothing of that kind.
* An unknown name's error lists the valid ones, with the distribution of each.
* What a factory makes is checked against its Protocol (:mod:`lazyplug.interfaces`).

The tables live on :data:`lazyplug.host.host`, collected once per set of plugins.
"""

from __future__ import annotations

import re
import warnings

from . import _hookcalls
from .config import config
from .errors import ConfigError, LauncherNotFoundError, PluginRegistrationError, PluginWarning
from .host import host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .interfaces import CacheStore, Launcher, ServiceRegistry

__all__ = ['KINDS', 'Registration', 'cache_strategies', 'launcher_names', 'make_cache_store', 'make_launcher',
           'make_service_registry', 'registrations', 'registry_schemes']

KINDS = {
    'launcher': 'lazyplug_register_launchers',
    'registry scheme': 'lazyplug_register_service_registries',
    'cache strategy': 'lazyplug_register_cache_stores',
}
"""Each kind of name and the hook that registers it."""

_NAME = re.compile(r'[a-z][a-z0-9_.+-]{0,63}')


class Registration:
    """One registered name: its ``kind``, ``name``, ``factory`` and the ``plugin`` (its name) that registered it."""

    __slots__ = ('factory', 'kind', 'name', 'plugin')

    def __init__(self, kind: str, name: str, factory: Callable[..., Any], plugin: str) -> None:
        self.kind = kind
        self.name = name
        self.factory = factory
        self.plugin = plugin

    def __repr__(self) -> str:
        return f'<Registration {self.kind} {self.name!r} of plugin {self.plugin!r}>'


def _problem(message: str, cause: BaseException | None = None) -> None:
    if config['strict_plugins']:
        raise PluginRegistrationError(message) from cause
    warnings.warn(message, PluginWarning, stacklevel=4)


def _collect(kind: str) -> dict[str, Registration]:
    """Call every plugin's register hook of ``kind`` on its own; the names they register."""
    table: dict[str, Registration] = {}
    pending: list[Registration] = []

    def arguments(plugin: str) -> dict[str, Any]:
        def register(name: str, factory: Callable[..., Any]) -> None:
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise PluginRegistrationError(f'{name!r} is not a valid {kind} name: use lower-case letters, digits '
                                              'and "_.+-", starting with a letter')
            if not callable(factory):
                raise PluginRegistrationError(f'the factory of {kind} {name!r} is not callable: {factory!r}')
            pending.append(Registration(kind, name, factory, plugin))

        pending.clear()
        return {'register': register}

    def after(plugin: str, error: Exception | None) -> None:
        if error is not None:
            _problem(f'plugin {plugin!r} failed to register its {kind}s, which are left out: '
                     f'{type(error).__name__}: {error}', error)
            return
        for made in pending:
            first = table.get(made.name)
            if first is None:
                table[made.name] = made
            else:
                _problem(f'the {kind} {made.name!r} of plugin {plugin!r} is left out: plugin {first.plugin!r} '
                         'registered it first')

    _hookcalls.per_plugin(KINDS[kind], arguments, after)
    return table


def registrations(kind: str) -> dict[str, Registration]:
    """Every name of ``kind`` (a key of :data:`KINDS`) the plugins registered, in registration order."""
    return host.table(kind, lambda: _collect(kind))


def launcher_names() -> list[str]:
    """The names of every launcher the plugins provide."""
    return list(registrations('launcher'))


def registry_schemes() -> list[str]:
    """The URL schemes of every service registry the plugins provide."""
    return list(registrations('registry scheme'))


def cache_strategies() -> list[str]:
    """The names of every cache strategy the plugins provide."""
    return list(registrations('cache strategy'))


def _choices(kind: str) -> str:
    """``local, thread (built in); ray (lazyplug-ray)``: the names of ``kind`` by where they come from."""
    by_source: dict[str, list[str]] = {}
    infos = {info.name: info for info in host.plugins()}
    for made in registrations(kind).values():
        info = infos.get(made.plugin)
        source = ('built in' if info.builtin else info.distribution or made.plugin) if info else made.plugin
        by_source.setdefault(source, []).append(made.name)
    return '; '.join(f'{", ".join(names)} ({source})' for source, names in by_source.items()) or 'none'


def _made(kind: str, name: str, made: Any, protocol: type) -> Any:
    from .interfaces import missing_members
    lacking = missing_members(made, protocol)
    if lacking:
        plugin = registrations(kind)[name].plugin
        raise PluginRegistrationError(f'the {kind} {name!r} of plugin {plugin!r} made {made!r}, which is no '
                                      f'{protocol.__name__}: it lacks {", ".join(lacking)}')
    return made


def make_launcher(name: str, options: dict[str, Any] | None = None, *, user: str = '') -> Launcher:
    """A new launcher ``name`` with ``options``. An unknown name raises :class:`LauncherNotFoundError`.

    ``user`` says who asks, for the error (``"Upper served by ServerModule"``).
    """
    from .interfaces import Launcher
    found = registrations('launcher').get(name)
    if found is None:
        asker = f' for {user}' if user else ''
        raise LauncherNotFoundError(f'no launcher {name!r}{asker}; launchers: {_choices("launcher")}')
    made: Launcher = _made('launcher', name, found.factory(**(options or {})), Launcher)
    return made


def make_service_registry(url: str) -> ServiceRegistry:
    """A new registry for ``url``, by its scheme. An unknown scheme raises :class:`ConfigError`."""
    from .interfaces import ServiceRegistry
    scheme, sep, _ = url.partition('://')
    found = registrations('registry scheme').get(scheme.lower()) if sep else None
    if found is None:
        raise ConfigError(f'no service registry for {url!r}: registry URLs are scheme://...; schemes: '
                          f'{_choices("registry scheme")}')
    made: ServiceRegistry = _made('registry scheme', found.name, found.factory(url), ServiceRegistry)
    return made


def make_cache_store(strategy: str) -> CacheStore:
    """A new store of the cache strategy ``strategy``. An unknown one raises :class:`ConfigError`."""
    from .interfaces import CacheStore
    found = registrations('cache strategy').get(strategy)
    if found is None:
        raise ConfigError(f'no cache strategy {strategy!r}; strategies: {_choices("cache strategy")}')
    made: CacheStore = _made('cache strategy', strategy, found.factory(), CacheStore)
    return made
