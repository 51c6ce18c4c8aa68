"""The hook plugin of lazyplug-redis (entry point ``redis`` in the ``lazyplug`` group)."""

from __future__ import annotations

from lazyplug import hookimpl

from . import settings  # noqa: F401 - the settings exist as soon as the plugin is loaded
from .connection import SCHEMES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lazyplug.interfaces import CacheStore, Register, ServiceRegistry


def make_registry(url: str) -> ServiceRegistry:
    """The Redis registry at ``url`` (``redis://``, ``rediss://`` or ``unix://``)."""
    from .registry import RedisRegistry
    return RedisRegistry(url)


def make_store() -> CacheStore:
    """The ``redis`` strategy of the result cache, on the ``redis_url`` setting's server."""
    from .cache import RedisStore
    return RedisStore()


@hookimpl
def lazyplug_register_service_registries(register: Register) -> None:
    for scheme in SCHEMES:
        register(scheme.removesuffix('://'), make_registry)


@hookimpl
def lazyplug_register_cache_stores(register: Register) -> None:
    register('redis', make_store)
