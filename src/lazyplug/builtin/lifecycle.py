"""Built-in plugin: how ``update()`` runs its phases and tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _hookcalls
from ..host import host
from ..lifecycle import Task, run_tasks
from ..plugins import hookimpl

if TYPE_CHECKING:
    from ..lifecycle import Plan, TaskList
    from ..module.base import ModuleBase


@hookimpl(trylast=True)
def lazyplug_update(root: ModuleBase, modes: tuple[str, ...], plan: Plan) -> Any:
    for phase in (*modes, 'post'):
        _hookcalls.run_phase(root, phase, plan.tasks(phase))
    return True


@hookimpl(trylast=True)
def lazyplug_run_phase(root: ModuleBase, phase: str, tasks: TaskList) -> Any:
    if host.flags.run_task:
        run_tasks(tasks, lambda task: _hookcalls.run_task(task.module, phase, task))
    else:  # nothing but the built-in implementation would run: skip the hook call per task
        run_tasks(tasks, Task.__call__)
    return True


@hookimpl(trylast=True)
def lazyplug_run_task(module: ModuleBase, phase: str, task: Task) -> Any:
    task()
    return True
