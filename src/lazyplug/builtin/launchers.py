"""Built-in plugin: the ``local`` and ``thread`` launchers."""

from __future__ import annotations

from ..plugins import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@hookimpl(trylast=True)
def lazyplug_launcher(name: str, options: dict[str, Any]) -> Any:
    if name == 'local':
        from ..launchers.local import LocalLauncher
        return LocalLauncher(options)
    if name == 'thread':
        from ..launchers.thread import ThreadLauncher
        return ThreadLauncher(options)
    return None
