"""Built-in plugin: how a module call runs when some plugin wraps ``lazyplug_module_call``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plugins import hookimpl

if TYPE_CHECKING:
    from ..module.base import ModuleBase


@hookimpl(trylast=True)
def lazyplug_module_call(module: ModuleBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return module._call_impl(args, kwargs)
