"""The one place the core calls hooks from.

Each function calls one hook through the plugin host's manager (made, and the plugins loaded,
on the first call). The per-call and per-task hooks are skipped while the host's flags say that
only built-in plugins implement them.
"""

from __future__ import annotations

from .host import host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

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


def launcher(name: str, options: dict[str, Any]) -> Any:
    return host.manager().hook.lazyplug_launcher(name=name, options=options)


def service_registry(url: str) -> Any:
    return host.manager().hook.lazyplug_service_registry(url=url)


def cache_store(name: str) -> Any:
    return host.manager().hook.lazyplug_cache_store(name=name)


def register_commands(cli: Any, after: Callable[[str, Exception | None], None] | None = None) -> None:
    """Call each plugin's ``lazyplug_register_commands`` on its own (the last registered first, as
    pluggy would), then ``after(plugin name, the exception it raised or None)``: one plugin failing
    does not keep the others' commands out. Without ``after``, an exception propagates."""
    manager = host.manager()
    impls = manager.hook.lazyplug_register_commands.get_hookimpls()
    for impl in reversed(impls):
        caller = manager.subset_hook_caller('lazyplug_register_commands',
                                            remove_plugins=[i.plugin for i in impls if i is not impl])
        if after is None:
            caller(cli=cli)
            continue
        try:
            caller(cli=cli)
        except Exception as exc:
            after(impl.plugin_name, exc)
        else:
            after(impl.plugin_name, None)
