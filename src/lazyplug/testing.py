"""Isolation for tests of lazyplug and of its plugins. The fixtures of ``lazyplug.pytest_plugin``
are built on these context managers:

* ``isolated_registry()``: module groups and modules registered inside are gone when it ends.
  Entry points are read afresh inside.
* ``isolated_plugins()``: hook plugins registered inside are gone when it ends. With
  ``fresh=True`` the block gets a new plugin manager (:meth:`PluginHost.snapshot`, ``restore``).
* ``forgetting_instances()``: the service registries and cache stores made inside are closed
  and forgotten when it ends.
"""

from __future__ import annotations

import sys

from . import registry
from .host import host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

__all__ = ['forgetting_instances', 'isolated_plugins', 'isolated_registry']


def _save_group(group: registry.ModuleGroup) -> Any:
    return (dict(group._entries), {k: (g, _save_group(g)) for k, g in group._subgroups.items()})


def _restore_group(group: registry.ModuleGroup, saved: Any) -> None:
    entries, subgroups = saved
    group._entries.clear()
    group._entries.update(entries)
    group._subgroups.clear()
    for key, (sub, sub_saved) in subgroups.items():
        group._subgroups[key] = sub
        _restore_group(sub, sub_saved)
    group._forget_cache()


def _all_groups() -> list[registry.ModuleGroup]:
    found: list[registry.ModuleGroup] = []
    pending = list(registry._groups.values())
    while pending:
        group = pending.pop()
        found.append(group)
        pending.extend(group._subgroups.values())
    return found


class isolated_registry:  # noqa: N801 - used like a function
    """Undo, on exit, every module group and module registered inside the block."""

    def __enter__(self) -> isolated_registry:
        with registry._lock:
            self._groups = {name: (g, _save_group(g)) for name, g in registry._groups.items()}
            self._loaded = set(registry._loaded_tops)
            self._index = registry._index
            registry._loaded_tops.clear()  # entry points load again inside, as in a fresh process
            registry._index = None
            self._modules = set(sys.modules)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        package = sys.modules['lazyplug']
        registering_modules = {entry.origin.module for group in _all_groups() for entry in group._entries.values()}
        with registry._lock:
            for name in list(registry._groups):
                if name not in self._groups:
                    del registry._groups[name]
                    package.__dict__.pop(name, None)
            for name, (group, saved) in self._groups.items():
                registry._groups[name] = group
                _restore_group(group, saved)
                setattr(package, name, group)
            registry._loaded_tops.clear()
            registry._loaded_tops.update(self._loaded)
            registry._index = self._index
            # Registration is a side effect of importing: a module first imported inside the block
            # that registered something is forgotten, so that the next fresh registry that needs
            # it imports it, and so registers its modules, again.
            for name in registering_modules - self._modules:
                sys.modules.pop(name, None)


class isolated_plugins:  # noqa: N801 - used like a function
    """Undo, on exit, the plugins registered inside the block (``lazyplug.plugins.register``).

    With ``fresh=True`` the block gets a new plugin manager, built from the settings then in force
    (environment variables, ``config.temp``), and the previous one comes back afterwards.
    """

    def __init__(self, fresh: bool = False) -> None:
        self._fresh = fresh

    def __enter__(self) -> isolated_plugins:
        self._saved = host.snapshot()
        if self._fresh:
            host.reset()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._saved.manager is None and host.loaded and not self._fresh:
            return  # the block made the process's first manager: keep it
        host.restore(self._saved)


class forgetting_instances:  # noqa: N801 - used like a function
    """Close (when they can be) and forget, on exit, the objects made once per process inside the block.

    These are ``get_registry()``'s registries and ``get_store()``'s stores. The next block makes
    its own, from the settings then in force.
    """

    def __enter__(self) -> forgetting_instances:
        self._before = host.instance_keys()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for made in host.forget_instances(host.instance_keys() - self._before):
            if hasattr(made, 'close'):
                made.close()
