"""The one place the core calls hooks from.

It keeps the fast paths honest: ``state`` says whether anything beyond the built-in plugins
implements the per-call and per-module hooks, so that the core skips them when nothing would
happen. The plugin manager (and with it pluggy and the entry points) loads on the first hook call.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import pluggy

    from .lifecycle import Plan, Task, TaskList
    from .module.base import ModuleBase


class _State:
    """Whether a hook must be called. True until the plugins are loaded and say otherwise."""

    module_call = True
    collect_tasks = True
    run_task = True
    task_progress = True


state = _State()
FLAGS = ('module_call', 'collect_tasks', 'run_task', 'task_progress')
_watchers: list[Callable[[], None]] = []
_made_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def watch(watcher: Callable[[], None]) -> None:
    """Call ``watcher()`` now and whenever the flags change: for a fast path that reads a flag
    once per change rather than once per call (ModuleBase's ``__call__``)."""
    _watchers.append(watcher)
    watcher()


def set_flags(flags: dict[str, bool]) -> None:
    """Set the fast-path flags (names in ``FLAGS``) and tell the watchers."""
    for name, value in flags.items():
        setattr(state, name, value)
    for watcher in _watchers:
        watcher()


def attach(manager: pluggy.PluginManager | None, builtin_names: frozenset[str] = frozenset()) -> None:
    """Point the core at ``manager`` (None: forget it) and recompute the fast-path flags."""
    global _manager
    _manager = manager
    if manager is None:
        set_flags(dict.fromkeys(FLAGS, True))
        return

    def implemented(hook_name: str) -> bool:
        caller = getattr(manager.hook, hook_name)
        return any(impl.plugin_name not in builtin_names for impl in caller.get_hookimpls())

    set_flags({name: implemented(f'lazyplug_{name}') for name in FLAGS})


def load() -> pluggy.PluginManager:
    """The plugin manager, created (and the plugins loaded) on first use."""
    if _manager is None:
        from .plugins import get_plugin_manager
        return get_plugin_manager()
    return _manager


def update(root: ModuleBase, modes: tuple[str, ...], plan: Plan) -> Any:
    return load().hook.lazyplug_update(root=root, modes=modes, plan=plan)


def run_phase(root: ModuleBase, phase: str, tasks: TaskList) -> Any:
    return load().hook.lazyplug_run_phase(root=root, phase=phase, tasks=tasks)


def run_task(module: ModuleBase, phase: str, task: Task) -> Any:
    return load().hook.lazyplug_run_task(module=module, phase=phase, task=task)


def collect_tasks(module: ModuleBase, phase: str) -> list[Any]:
    manager = load()
    if not state.collect_tasks:
        return []
    return [r for r in manager.hook.lazyplug_collect_tasks(module=module, phase=phase) if r is not None]


def task_progress(module: ModuleBase, phase: str, done: int, total: int) -> None:
    manager = load()
    if state.task_progress:
        manager.hook.lazyplug_task_progress(module=module, phase=phase, done=done, total=total)


def module_call(module: ModuleBase, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    manager = load()
    if not state.module_call:
        return module._call_impl(args, kwargs)
    return manager.hook.lazyplug_module_call(module=module, args=args, kwargs=kwargs)


def launcher(name: str, options: dict[str, Any]) -> Any:
    return load().hook.lazyplug_launcher(name=name, options=options)


def service_registry(url: str) -> Any:
    return load().hook.lazyplug_service_registry(url=url)


def cache_store(name: str) -> Any:
    return load().hook.lazyplug_cache_store(name=name)


def register_commands(cli: Any, after: Callable[[str, Exception | None], None] | None = None) -> None:
    """Call each plugin's ``lazyplug_register_commands`` on its own (the last registered first, as
    pluggy would), then ``after(plugin name, the exception it raised or None)``: one plugin failing
    does not keep the others' commands out. Without ``after``, an exception propagates."""
    manager = load()
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


_made: dict[tuple[str, Any], Any] = {}


def made_once(kind: str, key: Any, make: Callable[[], Any], missing: Callable[[], Exception]) -> Any:
    """What ``make()`` (a hook call) returns for ``(kind, key)``, made once per process; ``missing()``
    is raised when no plugin makes it."""
    made = _made.get((kind, key))
    if made is None:
        with _made_lock:
            made = _made.get((kind, key))
            if made is None:
                made = make()
                if made is None:
                    raise missing()
                _made[(kind, key)] = made
    return made
