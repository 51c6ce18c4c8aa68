"""Settings: ``lazyplug.config``.

* Each setting has a name, a type, a default and a documentation line.
* Its value comes from the environment variable ``LAZYPLUG_<NAME>``, read when the setting is
  first used, or from ``config.temp(name, value)`` / ``config[name] = value``.
* Plugins add their own settings with ``config.add`` when they load.
* A name not declared yet goes to the callback set with ``config.on_unknown_name``, then is
  looked up again. The plugin host's callback loads the plugins.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

from .errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['Config', 'Setting', 'config']

_TRUE = frozenset({'1', 'true', 'yes', 'on'})
_FALSE = frozenset({'0', 'false', 'no', 'off', ''})
_UNSET: Any = object()


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f'expected one of {sorted(_TRUE | _FALSE - {""})}')


def _parse_names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(',') if part.strip())


def _parse_cache_mode(text: str) -> str:
    mode = text.strip().upper()
    if mode not in ('RW', 'RO', 'WO', 'NONE'):
        raise ValueError('expected RW, RO, WO or NONE')
    return mode


def _parse_positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError('expected a whole number of at least 1')
    return value


def _parse_positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float('inf'):
        raise ValueError('expected a number of seconds greater than 0')
    return value


_PARSERS: dict[type, Callable[[str], Any]] = {bool: _parse_bool, int: int, str: str, tuple: _parse_names}


class Setting:
    """One declared setting. ``parse`` turns the environment variable's text into a value."""

    __slots__ = ('default', 'doc', 'name', 'parse')

    def __init__(self, name: str, default: Any, doc: str, parse: Callable[[str], Any]) -> None:
        self.name = name
        self.default = default
        self.doc = doc
        self.parse = parse

    def __repr__(self) -> str:
        return f'<Setting {self.name}={self.default!r}: {self.doc}>'

    @property
    def env_var(self) -> str:
        return f'LAZYPLUG_{self.name.upper()}'


class Config:
    """The settings registry behind ``lazyplug.config``; read with ``config['name']`` or ``config.name``."""

    def __init__(self) -> None:
        self._settings: dict[str, Setting] = {}
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._unknown: Callable[[str], None] | None = None

    def on_unknown_name(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` when a name no setting has is used; it may declare the setting."""
        self._unknown = callback

    def add(self, name: str, type_: type, default: Any, doc: str,
            parse: Callable[[str], Any] | None = None) -> None:
        """Declare a setting read from ``LAZYPLUG_<NAME>``; re-declaring one with the same default is a no-op."""
        old = self._settings.get(name)
        if old is not None and old.default != default:
            raise ConfigError(f'setting {name!r} is already declared with default {old.default!r}')
        parser = parse or _PARSERS.get(type_)
        if parser is None:
            raise ConfigError(f'setting {name!r}: no parser for type {type_.__name__}; pass parse=')
        self._settings[name] = Setting(name, default, doc, parser)

    def _setting(self, name: str) -> Setting:
        try:
            return self._settings[name]
        except KeyError:
            pass
        if self._unknown is not None:
            self._unknown(name)
            if name in self._settings:
                return self._settings[name]
        import difflib
        near = difflib.get_close_matches(name, self._settings, n=1)
        hint = f'; did you mean {near[0]!r}?' if near else ''
        raise ConfigError(f'unknown setting {name!r}{hint} (known: {", ".join(sorted(self._settings))})')

    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            pass
        setting = self._setting(name)
        raw = os.environ.get(setting.env_var)
        if raw is None:
            value = setting.default
        else:
            try:
                value = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f'{setting.env_var}={raw!r} is not valid for setting {name!r}: {exc}') from exc
        with self._lock:
            return self._values.setdefault(name, value)

    def __setitem__(self, name: str, value: Any) -> None:
        self._setting(name)
        with self._lock:
            self._values[name] = value

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)
        try:
            return self[name]
        except ConfigError as exc:
            raise AttributeError(str(exc)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._settings

    def __iter__(self) -> Iterator[Setting]:
        return iter(sorted(self._settings.values(), key=lambda s: s.name))

    def reload(self, name: str | None = None) -> None:
        """Forget cached values (one, or all) so that they are read from the environment again."""
        with self._lock:
            if name is None:
                self._values.clear()
            else:
                self._values.pop(self._setting(name).name, None)

    def temp(self, name: str, value: Any) -> _Temp:
        """Set ``name`` to ``value`` inside a ``with`` block, then restore what it was."""
        self._setting(name)
        return _Temp(self, name, value)

    def __reduce__(self) -> str:
        # code shipped to a server by value (a script's functions) may refer to lazyplug.config:
        # there it is that process's own settings, never a copy of these
        if self is not config:
            raise TypeError('only lazyplug.config itself can be pickled (by reference)')
        return 'config'


class _Temp:
    """The context manager of ``Config.temp`` (a class: contextlib is not worth its import time)."""

    def __init__(self, owner: Config, name: str, value: Any) -> None:
        self._owner = owner
        self._name = name
        self._value = value
        self._old: Any = _UNSET

    def __enter__(self) -> None:
        self._old = self._owner._values.get(self._name, _UNSET)
        self._owner[self._name] = self._value

    def __exit__(self, *exc: object) -> None:
        owner = self._owner
        with owner._lock:
            if self._old is _UNSET:
                owner._values.pop(self._name, None)
            else:
                owner._values[self._name] = self._old


def _default_home() -> str:
    state = os.environ.get('XDG_STATE_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'state')
    return os.path.join(state, 'lazyplug')


config = Config()
config.add('repr_show_child', bool, True, 'draw the submodule tree in repr() of modules and flows')
config.add('workers', int, 1, 'tasks of one update phase run at once (1: one by one, in plan order)',
           parse=_parse_positive_int)
config.add('thread_pool_workers', int, 32, 'threads shared by parallel flows and evaluation',
           parse=_parse_positive_int)

config.add('home', str, _default_home(), "lazyplug's state directory (service registry, caches)")
config.add('disable_plugin_autoload', bool, False, 'load no plugins (hook plugins, module groups) from entry '
           'points but those named in the plugins setting')
config.add('plugins', tuple, None, 'load only these plugins (entry or distribution names); empty: none')
config.add('disabled_plugins', tuple, (), 'block these plugins (entry or distribution names)')
config.add('strict_plugins', bool, False, 'raise plugin load errors instead of warning')
config.add('trace_plugins', bool, False, 'trace hook calls to stderr')
config.add('launcher', str, 'local', 'the launcher ServerModules deploy with when they name none (local, '
           'thread, or one a plugin registers)')
config.add('cache_strategy', str, 'memory', 'where module results are cached: memory, sqlite, file '
           '(or a strategy a plugin adds)')
config.add('cache_mode', str, 'RW', 'RW: read and write the cache; RO, WO, NONE', parse=_parse_cache_mode)
config.add('cache_dir', str, '', 'directory of the sqlite and file caches (default: <home>/cache)')
config.add('registry', str, '', 'the service registry URL: memory://, sqlite:///path, or a scheme a plugin adds '
           '(default: sqlite:///<home>/services.sqlite)')
config.add('advertise_host', str, '', 'the host name or address in the URLs of services bound to every interface '
           "(host='0.0.0.0'), for other machines (default: this machine's address)")
config.add('start_timeout', float, 60.0, 'seconds a launcher waits for a service to answer its health check',
           parse=float)
config.add('max_request_bytes', int, 16 * 1024 * 1024, 'the largest request body a served module accepts',
           parse=_parse_positive_int)
config.add('max_nesting_depth', int, 128, 'the deepest nesting of lists, dicts, tuples... in a request or reply '
           'of a served module (a call\'s arguments are at level 3)', parse=_parse_positive_int)
config.add('read_timeout', float, 10.0, 'seconds a server waits for a request, from its first byte (or the '
           'connection) to the end of its body, before closing the connection', parse=_parse_positive_float)
config.add('max_concurrent_calls', int, 128, 'calls a server runs at once, each in a thread of its own; one more is '
           'answered 503 at once (ServiceBusyError)', parse=_parse_positive_int)
config.add('call_timeout', float, 600.0, 'seconds a call of a served module may take', parse=_parse_positive_float)
config.add('connect_timeout', float, 3.0, "seconds a service's machine may stay silent: to accept a connection "
           '(and finish the TLS handshake), and on an open connection to acknowledge what was sent; past it, '
           'calls go to the other replicas', parse=_parse_positive_float)
config.add('ca_file', str, '', "a PEM file of the certificate authorities https services are verified against "
           "(default: the system's)")
config.add('progress', bool, False, 'show the progress of update phases and tasks (the built-in progress plugin; '
           'lazyplug update turns it on when its output is a terminal)')
config.add('debug', bool, False, 'the lazyplug command prints the traceback of an error, not just its message')
