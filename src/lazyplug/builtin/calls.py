"""Built-in plugin: how module calls, flow calls and calls of served modules run when some plugin
wraps their hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plugins import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..flow.base import FlowBase
    from ..module.base import ModuleBase


@hookimpl(trylast=True)
def lazyplug_module_call(module: ModuleBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return module._call_impl(args, kwargs)


@hookimpl(trylast=True)
def lazyplug_flow_call(flow: FlowBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return flow._lazyplug_call(*args, **kwargs)


@hookimpl(trylast=True)
def lazyplug_service_call(call: Callable[[], Any]) -> Any:
    return call()


@hookimpl(trylast=True)
def lazyplug_serve_call(call: Callable[[], Any]) -> Any:
    return call()
