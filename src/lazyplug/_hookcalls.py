"""The one place the core calls hooks from.

Each function calls one hook through the plugin host's manager (made, and the plugins loaded,
on the first call). The per-call and per-task hooks are skipped while the host's flags say that
only built-in plugins implement them.
"""

from __future__ import annotations

from .builtin import BUILTIN_PLUGINS
from .host import host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    import click

    from .flow.base import FlowBase
    from .lifecycle import Plan, Task, TaskList
    from .module.base import ModuleBase

_flags = host.flags


def update(root: ModuleBase, modes: tuple[str, ...], plan: Plan) -> Any:
    return host.manager().hook.lazyplug_update(root=root, modes=modes, plan=plan)


def run_phase(root: ModuleBase, phase: str, tasks: TaskList) -> Any:
    return host.manager().hook.lazyplug_run_phase(root=root, phase=phase, tasks=tasks)


def run_task(module: ModuleBase, phase: str, task: Task) -> Any:
    return host.manager().hook.lazyplug_run_task(module=module, phase=phase, task=task)


def collect_tasks(module: ModuleBase, phase: str) -> list[Any]:
    manager = host.manager()
    if not _flags.collect_tasks:
        return []
    return [r for r in manager.hook.lazyplug_collect_tasks(module=module, phase=phase) if r is not None]


def task_progress(module: ModuleBase, phase: str, done: int, total: int) -> None:
    manager = host.manager()
    if _flags.task_progress:
        manager.hook.lazyplug_task_progress(module=module, phase=phase, done=done, total=total)


def module_call(module: ModuleBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    manager = host.manager()
    if not _flags.module_call:
        return module._call_impl(args, kwargs)
    return manager.hook.lazyplug_module_call(module=module, args=args, kwargs=kwargs)


def flow_call(flow: FlowBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    manager = host.manager()
    if not _flags.flow_call:
        return flow._lazyplug_call(*args, **kwargs)
    return manager.hook.lazyplug_flow_call(flow=flow, args=args, kwargs=kwargs)


def service_call(service: str, method: str | None, headers: dict[str, str], call: Callable[[], Any]) -> Any:
    manager = host.manager()
    if not _flags.service_call:
        return call()
    return manager.hook.lazyplug_service_call(service=service, method=method, headers=headers, call=call)


def serve_call(service: str, target: Any, method: str | None, headers: Mapping[str, str],
               call: Callable[[], Any]) -> Any:
    manager = host.manager()
    if not _flags.serve_call:
        return call()
    return manager.hook.lazyplug_serve_call(service=service, target=target, method=method, headers=headers,
                                            call=call)


def per_plugin(hook_name: str, arguments: Callable[[str], dict[str, Any]],
               after: Callable[[str, Exception | None], None]) -> None:
    """Call each plugin's implementation of ``hook_name`` on its own, so that one failing leaves
    the others working.

    * Built-in plugins come first, then the others in the order pluggy lists them.
    * Each is called with ``arguments(plugin name)``.
    * Then ``after(plugin name, the exception it raised or None)`` runs.
    """
    manager = host.manager()
    impls = getattr(manager.hook, hook_name).get_hookimpls()
    for impl in sorted(impls, key=lambda impl: impl.plugin_name not in BUILTIN_PLUGINS):
        caller = manager.subset_hook_caller(hook_name, remove_plugins=[i.plugin for i in impls if i is not impl])
        try:
            caller(**arguments(impl.plugin_name))
        except Exception as exc:
            after(impl.plugin_name, exc)
        else:
            after(impl.plugin_name, None)


def register_commands(cli: click.Group, after: Callable[[str, Exception | None], None]) -> None:
    """Let each plugin add its commands to ``cli`` (see :func:`per_plugin`)."""
    per_plugin('lazyplug_register_commands', lambda plugin: {'cli': cli}, after)
