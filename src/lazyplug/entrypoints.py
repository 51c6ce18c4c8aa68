"""Entry points: the one loader of both plugin groups.

A distribution adds to lazyplug through two entry-point groups:

* ``lazyplug``: hook plugins, loaded with the plugin manager (:mod:`lazyplug.host`);
* ``lazyplug.modules``: module groups, loaded when their group is first touched
  (:mod:`lazyplug.registry`).

Both are read by :func:`discover` and loaded by :func:`load`, under one set of rules:

* Two distributions declaring one entry name: the one found first on ``sys.path`` keeps it. The
  other is a ``duplicate``, warned about when it would load.
* ``LAZYPLUG_DISABLED_PLUGINS=a,b`` blocks entries, by entry or distribution name.
* ``LAZYPLUG_PLUGINS=a,b`` selects only the named entries (empty: none).
* ``LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD=1`` selects none but those ``LAZYPLUG_PLUGINS`` names.
* An entry that fails to load is warned about once and left out; the rest load.
  ``LAZYPLUG_STRICT_PLUGINS=1`` raises instead.

Every entry gets a :class:`PluginInfo`. ``importlib.metadata`` is imported on the first
:func:`discover`, never by ``import lazyplug``.
"""

from __future__ import annotations

import warnings

from .config import config
from .errors import PluginLoadError, PluginRegistrationError, PluginWarning

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['HOOKS_GROUP', 'MODULES_GROUP', 'STATUSES', 'PluginInfo', 'discover', 'import_object', 'load']

HOOKS_GROUP = 'lazyplug'
MODULES_GROUP = 'lazyplug.modules'

STATUSES = ('not loaded', 'loaded', 'failed', 'blocked', 'not selected', 'duplicate')
"""What became of a plugin. ``not loaded``: selected, but its group was not touched yet."""


class PluginInfo:
    """What is known of one plugin: an entry point of either group, a built-in plugin, or one
    registered at run time.

    * ``name``: the entry name, or the name the plugin was registered under.
    * ``group``: ``lazyplug``, ``lazyplug.modules``, or ``''`` for a plugin registered at run time.
    * ``value``: what the entry point names (``pkg.module`` or ``pkg.module:obj``).
    * ``distribution``, ``version``: where it comes from (``lazyplug`` for a built-in plugin).
    * ``status``: one of :data:`STATUSES`; ``error`` says why it is not loaded.
    * ``hooks``: the hooks a hook plugin implements.
    * ``builtin``: part of lazyplug itself.
    """

    __slots__ = ('builtin', 'distribution', 'error', 'group', 'hooks', 'name', 'status', 'value', 'version')

    def __init__(self, name: str, group: str, value: str | None = None, distribution: str | None = None,
                 version: str | None = None, *, status: str = 'not loaded', hooks: tuple[str, ...] = (),
                 error: str | None = None, builtin: bool = False) -> None:
        self.name = name
        self.group = group
        self.value = value
        self.distribution = distribution
        self.version = version
        self.status = status
        self.hooks = hooks
        self.error = error
        self.builtin = builtin

    @property
    def origin(self) -> str:
        """``distribution NAME VERSION``, for messages."""
        if self.builtin:
            return 'lazyplug (built in)'
        if self.distribution:
            return f'distribution {self.distribution} {self.version}'
        return 'an unknown distribution' if self.group else 'this program (registered at run time)'

    def to_dict(self) -> dict[str, Any]:
        """The info as JSON-ready values."""
        return {name: list(self.hooks) if name == 'hooks' else getattr(self, name) for name in sorted(self.__slots__)}

    def __repr__(self) -> str:
        where = self.distribution or ('built in' if self.builtin else 'run time')
        return f'<PluginInfo {self.group or "run-time"} {self.name} ({where}): {self.status}>'


def _normal(name: str) -> str:
    return name.lower().replace('_', '-').replace('.', '-')


def _named(names: tuple[str, ...] | None, info: PluginInfo) -> bool:
    wanted = {_normal(n) for n in names or ()}
    return _normal(info.name) in wanted or (info.distribution is not None and _normal(info.distribution) in wanted)


def _selection(info: PluginInfo) -> tuple[str, str | None]:
    """The status the settings give an entry, and why."""
    if _named(config['disabled_plugins'], info):
        return 'blocked', 'named in LAZYPLUG_DISABLED_PLUGINS'
    only = config['plugins']
    if only is not None:
        return ('not loaded', None) if _named(only, info) else ('not selected', 'not named in LAZYPLUG_PLUGINS')
    if config['disable_plugin_autoload']:
        return 'not selected', 'LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD is set'
    return 'not loaded', None


def _label(info: PluginInfo) -> str:
    kind = 'lazyplug plugin' if info.group == HOOKS_GROUP else f'{info.group} entry point'
    return f'{kind} {info.name!r} ({info.value})'


def discover(group: str) -> list[PluginInfo]:
    """Every entry point of ``group``, in ``sys.path`` order, with the status the settings give it.

    The same distribution seen twice on ``sys.path`` is listed once.
    """
    import importlib.metadata
    found: list[PluginInfo] = []
    first: dict[str, PluginInfo] = {}
    for ep in importlib.metadata.entry_points(group=group):
        dist = ep.dist
        info = PluginInfo(ep.name, group, ep.value, dist.metadata['Name'] if dist is not None else None,
                          dist.version if dist is not None else None)
        kept = first.get(ep.name)
        if kept is None:
            first[ep.name] = info
            info.status, info.error = _selection(info)
        elif (kept.distribution, kept.value) == (info.distribution, info.value):
            continue
        else:
            info.status = 'duplicate'
            info.error = (f'the entry name is declared by {kept.origin} and by {info.origin}; the one found first '
                          'on sys.path keeps it')
        found.append(info)
    return found


def import_object(value: str) -> Any:
    """The object an entry point's value names: ``pkg.module`` or ``pkg.module:attr.path``."""
    import importlib
    module_path, _, attr = value.partition(':')
    obj: Any = importlib.import_module(module_path.strip())
    for part in filter(None, attr.strip().split('.')):
        obj = getattr(obj, part)
    return obj


def load(info: PluginInfo, use: Callable[[PluginInfo], None]) -> bool:
    """Load the selected entry ``info`` with ``use(info)``; whether it loaded.

    * A ``duplicate`` is warned about and left out.
    * An entry ``use`` fails on is marked ``failed``, warned about and left out.
      With ``LAZYPLUG_STRICT_PLUGINS=1`` the error is raised (:class:`PluginLoadError`, or the
      :class:`PluginRegistrationError` itself).
    * Any other status is left as it is.
    """
    if info.status == 'duplicate':
        warnings.warn(f'{_label(info)}: {info.error}; the second is left out', PluginWarning, stacklevel=3)
        return False
    if info.status != 'not loaded':
        return False
    try:
        use(info)
    except Exception as exc:
        registration = isinstance(exc, PluginRegistrationError)
        error = str(exc) if registration else f'{type(exc).__name__}: {exc}'
        message = (f'{exc}; it is left out' if registration
                   else f'{_label(info)} from {info.origin} failed to load and is left out: {error}')
        if config['strict_plugins']:  # the entry stays selected: the next attempt raises again
            if registration:
                raise
            raise PluginLoadError(message) from exc
        info.status, info.error = 'failed', error
        warnings.warn(message, PluginWarning, stacklevel=3)
        return False
    info.status = 'loaded'
    return True
