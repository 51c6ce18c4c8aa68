"""Built-in plugin: the ``memory://`` and ``sqlite:///path`` service registries."""

from __future__ import annotations

from ..plugins import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..interfaces import Register, ServiceRegistry


def _memory(url: str) -> ServiceRegistry:
    from ..services.memory import MemoryRegistry
    return MemoryRegistry(url)


def _sqlite(url: str) -> ServiceRegistry:
    from ..services.sqlite import SqliteRegistry
    return SqliteRegistry(url)


@hookimpl
def lazyplug_register_service_registries(register: Register) -> None:
    register('memory', _memory)
    register('sqlite', _sqlite)
