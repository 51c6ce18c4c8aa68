"""The hook plugin of lazyplug-redis (entry point ``redis`` in the ``lazyplug`` group)."""

from __future__ import annotations

from lazyplug.plugins import hookimpl

from . import settings  # noqa: F401 - the settings exist as soon as the plugin is loaded
from .connection import SCHEMES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@hookimpl
def lazyplug_service_registry(url: str) -> Any:
    """The Redis registry for ``redis://``, ``rediss://`` and ``unix://`` URLs."""
    if not url.startswith(SCHEMES):
        return None
    from .registry import RedisRegistry
    return RedisRegistry(url)


@hookimpl
def lazyplug_cache_store(name: str) -> Any:
    """The ``redis`` strategy of the result cache."""
    if name != 'redis':
        return None
    from .cache import RedisStore
    return RedisStore()
