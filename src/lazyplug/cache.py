"""The module result cache behind ``module.use_cache()``.

* A call's key is the module's identity (its class, the ``use_cache`` tag, its name) and a
  digest of what its arguments hold (``lazyplug.cachekeys``). Arguments of equal content give
  equal keys in every process.
* A call with an argument that cannot be keyed by its content is not cached.
* The store is a :class:`~lazyplug.interfaces.CacheStore`, the one plugins register under the
  ``cache_strategy`` setting (``lazyplug_register_cache_stores``). Built in: ``memory`` (this
  process), ``sqlite`` and ``file`` (under the ``cache_dir`` setting, shared by processes).
* ``cache_mode`` is ``RW`` (default), ``RO``, ``WO`` or ``NONE``.
* An entry that cannot be read back is a miss (and is dropped), never an error.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading

from . import cachekeys
from ._files import open_private, private_dir, private_file
from .config import config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .interfaces import CacheStore
    from .module.base import ModuleBase

__all__ = ['MISS', 'FileStore', 'MemoryStore', 'SqliteStore', 'cache_dir', 'cache_key', 'get_store']


MISS: Any = object()
"""What a store's ``get`` returns for a key it does not hold."""


def cache_dir() -> str:
    """Where stores keep their files: the ``cache_dir`` setting, else ``cache`` in lazyplug's home."""
    return config['cache_dir'] or os.path.join(config['home'], 'cache')


def cache_key(module: ModuleBase, tag: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> str | None:
    """The key of a call: the same module identity (class, tag, name) and arguments of equal
    content give the same key anywhere; None when an argument cannot be keyed by its content
    (see ``lazyplug.cachekeys``: the call is not cached)."""
    cls = type(module)
    identity = (f'{cls.__module__}.{cls.__qualname__}', tag if isinstance(tag, str) else '', module.name or '')
    return cachekeys.cache_key(identity, args, kw)


class MemoryStore:
    """Results kept in this process (the objects themselves)."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self._data.get(key, MISS)

    def put(self, key: str, value: Any) -> None:
        self._data[key] = value

    def clear(self) -> None:
        self._data.clear()


class SqliteStore:
    """Results pickled in one SQLite file (0600), shared by the processes of this machine."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # a forked child opens its own
            conn = sqlite3.connect(private_file(self.path), timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute('PRAGMA journal_mode=WAL')
            conn.execute('CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value BLOB NOT NULL)')
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get(self, key: str) -> Any:
        with self._lock:
            row = self._connection().execute('SELECT value FROM results WHERE key = ?', (key,)).fetchone()
        if row is None:
            return MISS
        try:
            return pickle.loads(row[0])
        except Exception:  # a corrupt entry is a miss
            with self._lock:
                self._connection().execute('DELETE FROM results WHERE key = ?', (key,))
            return MISS

    def put(self, key: str, value: Any) -> None:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._connection().execute('INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)', (key, blob))

    def clear(self) -> None:
        with self._lock:
            self._connection().execute('DELETE FROM results')


class FileStore:
    """Results pickled one file per key in a directory, written atomically (files 0600, directories 0700)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key)

    def get(self, key: str) -> Any:
        path = self._path(key)
        try:
            with open(path, 'rb') as f:
                return pickle.load(f)
        except FileNotFoundError:
            return MISS
        except Exception:  # a corrupt entry is a miss
            try:
                os.remove(path)
            except OSError:
                pass
            return MISS

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        private_dir(os.path.dirname(path))
        temp = f'{path}.{os.getpid()}.{threading.get_ident()}.tmp'
        with open(open_private(temp), 'wb') as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)

    def clear(self) -> None:
        import shutil
        shutil.rmtree(self.directory, ignore_errors=True)


def get_store(strategy: str | None = None) -> CacheStore:
    """The store of ``strategy`` (default: the ``cache_strategy`` setting), made once per process."""
    from .factories import make_cache_store
    from .host import host
    name = strategy or config['cache_strategy']
    return host.instance('cache store', (name, cache_dir()), lambda: make_cache_store(name))
