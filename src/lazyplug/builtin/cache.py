"""Built-in plugin: the ``memory``, ``sqlite`` and ``file`` stores of the module result cache."""

from __future__ import annotations

import os

from ..plugins import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..interfaces import CacheStore, Register


def _memory() -> CacheStore:
    from ..cache import MemoryStore
    return MemoryStore()


def _sqlite() -> CacheStore:
    from ..cache import SqliteStore, cache_dir
    return SqliteStore(os.path.join(cache_dir(), 'results.sqlite'))


def _file() -> CacheStore:
    from ..cache import FileStore, cache_dir
    return FileStore(os.path.join(cache_dir(), 'results'))


@hookimpl
def lazyplug_register_cache_stores(register: Register) -> None:
    register('memory', _memory)
    register('sqlite', _sqlite)
    register('file', _file)
