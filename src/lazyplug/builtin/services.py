"""Built-in plugin: the ``memory://`` and ``sqlite:///path`` service registries."""

from __future__ import annotations

from ..plugins import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@hookimpl(trylast=True)
def lazyplug_service_registry(url: str) -> Any:
    if url.startswith('memory://'):
        from ..services.memory import MemoryRegistry
        return MemoryRegistry(url)
    if url.startswith('sqlite://'):
        from ..services.sqlite import SqliteRegistry
        return SqliteRegistry(url)
    return None
