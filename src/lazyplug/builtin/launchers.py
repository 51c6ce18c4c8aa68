"""Built-in plugin: the ``local`` and ``thread`` launchers."""

from __future__ import annotations

from ..plugins import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..interfaces import Launcher, Register


def _local(**options: Any) -> Launcher:
    from ..launchers.local import LocalLauncher
    return LocalLauncher(**options)


def _thread(**options: Any) -> Launcher:
    from ..launchers.thread import ThreadLauncher
    return ThreadLauncher(**options)


@hookimpl
def lazyplug_register_launchers(register: Register) -> None:
    register('local', _local)
    register('thread', _thread)
