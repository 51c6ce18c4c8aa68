"""Names the launcher, the registry scheme and the cache strategy; imports none of them."""

from __future__ import annotations

from typing import Any

from lazyplug import hookimpl


def spawn(**options: Any) -> Any:
    from .launcher import SpawnLauncher
    return SpawnLauncher(**options)


def jsonfile(url: str) -> Any:
    from .registry import JsonFileRegistry
    return JsonFileRegistry(url)


def shelf() -> Any:
    from .store import ShelfStore
    return ShelfStore()


@hookimpl
def lazyplug_register_launchers(register: Any) -> None:
    register('spawn', spawn)


@hookimpl
def lazyplug_register_service_registries(register: Any) -> None:
    register('jsonfile', jsonfile)


@hookimpl
def lazyplug_register_cache_stores(register: Any) -> None:
    register('shelf', shelf)
