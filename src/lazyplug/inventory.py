"""What every installed distribution adds to lazyplug: the report behind ``lazyplug plugins``.

:func:`contributions` loads every plugin and every module group, then says, per distribution:

* its hook plugins, with their hooks, status and error;
* its module-group entry points, with their status and error, and the modules it registered,
  group by group;
* the launchers, registry schemes and cache strategies its plugins registered;
* the commands its plugins added (when the command line passes them).

lazyplug itself comes first (``builtin``). Plugins registered at run time come last, under the
distribution ``None``.
"""

from __future__ import annotations

from .entrypoints import PluginInfo
from .factories import KINDS, registrations
from .host import host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .registry import ModuleGroup

__all__ = ['Contribution', 'contributions']


class Contribution:
    """What one distribution adds.

    * ``distribution``, ``version``: which one (``None``: plugins registered at run time).
    * ``builtin``: lazyplug itself.
    * ``hook_plugins``, ``module_entry_points``: a :class:`~lazyplug.entrypoints.PluginInfo` each.
    * ``module_groups``: group path -> the names of the modules it registered there.
    * ``launchers``, ``registry_schemes``, ``cache_strategies``, ``commands``: names.
    """

    def __init__(self, distribution: str | None, version: str | None, builtin: bool = False) -> None:
        self.distribution = distribution
        self.version = version
        self.builtin = builtin
        self.hook_plugins: list[PluginInfo] = []
        self.module_entry_points: list[PluginInfo] = []
        self.module_groups: dict[str, list[str]] = {}
        self.launchers: list[str] = []
        self.registry_schemes: list[str] = []
        self.cache_strategies: list[str] = []
        self.commands: list[str] = []

    def adds_anything(self) -> bool:
        return bool(self.hook_plugins or self.module_entry_points or self.module_groups or self.launchers
                    or self.registry_schemes or self.cache_strategies or self.commands)

    def to_dict(self) -> dict[str, Any]:
        """The contribution as JSON-ready values."""
        def plugin(info: PluginInfo) -> dict[str, Any]:
            return {'name': info.name, 'value': info.value, 'status': info.status, 'hooks': list(info.hooks),
                    'error': info.error}

        return {'distribution': self.distribution, 'version': self.version, 'builtin': self.builtin,
                'hook_plugins': [plugin(i) for i in self.hook_plugins],
                'module_entry_points': [plugin(i) for i in self.module_entry_points],
                'module_groups': [{'group': path, 'modules': names} for path, names in self.module_groups.items()],
                'launchers': self.launchers, 'registry_schemes': self.registry_schemes,
                'cache_strategies': self.cache_strategies, 'commands': self.commands}


def _groups(top: list[ModuleGroup]) -> list[ModuleGroup]:
    """Every group of ``top`` and below, parents before their sub-groups."""
    found: list[ModuleGroup] = []
    pending = list(reversed(top))
    while pending:
        group = pending.pop()
        found.append(group)
        pending.extend(reversed(list(group._subgroups.values())))
    return found


class _Contributions(dict[str | None, Contribution]):
    """The contributions found so far, by distribution (``lazyplug`` for the built-in ones)."""

    def of(self, info: PluginInfo | None) -> Contribution:
        """The contribution of ``info``'s distribution. None: a plugin registered on the manager
        behind the host's back, of no distribution."""
        info = info or PluginInfo('', '')
        key = 'lazyplug' if info.builtin else info.distribution
        if key not in self:
            self[key] = Contribution(key, info.version, info.builtin)
        return self[key]

    def add_modules(self, top: list[ModuleGroup]) -> None:
        """The modules of every group, under the distribution that registered each."""
        by_origin = {f'{c.distribution} {c.version}': c for c in self.values()}
        for group in _groups(top):
            for _, cls, origin in group:
                found = by_origin.get(origin.distribution or '')
                if found is not None:
                    found.module_groups.setdefault(group._path, []).append(cls.__name__)


def contributions(commands: dict[str, list[str]] | None = None, builtin_commands: list[str] | None = None
                  ) -> list[Contribution]:
    """What every distribution adds, loading every plugin and module group first.

    ``commands`` maps a plugin's name to the commands it added; ``builtin_commands`` are lazyplug's own.
    """
    from .registry import groups, list_module_entry_points
    found = _Contributions()
    plugins = host.plugins()
    for info in plugins:
        found.of(info).hook_plugins.append(info)
    found['lazyplug'].commands.extend(builtin_commands or ())
    for info in list_module_entry_points():
        found.of(info).module_entry_points.append(info)
    infos = {info.name: info for info in plugins}
    for kind, field in zip(KINDS, ('launchers', 'registry_schemes', 'cache_strategies'), strict=True):
        for registration in registrations(kind).values():
            getattr(found.of(infos.get(registration.plugin)), field).append(registration.name)
    for plugin, names in (commands or {}).items():
        found.of(infos.get(plugin)).commands.extend(names)
    found.add_modules([group for _, group in sorted(groups().items())])
    ordered = sorted(found.values(), key=lambda c: (not c.builtin, c.distribution is None, c.distribution or ''))
    return [c for c in ordered if c.builtin or c.adds_anything()]
