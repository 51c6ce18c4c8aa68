"""Built-in plugin: the memory, sqlite and file stores of the module result cache."""

from __future__ import annotations

import os

from ..cache import FileStore, MemoryStore, SqliteStore, cache_dir
from ..plugins import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@hookimpl(trylast=True)
def lazyplug_cache_store(name: str) -> Any:
    if name == 'memory':
        return MemoryStore()
    if name == 'sqlite':
        return SqliteStore(os.path.join(cache_dir(), 'results.sqlite'))
    if name == 'file':
        return FileStore(os.path.join(cache_dir(), 'results'))
    return None
