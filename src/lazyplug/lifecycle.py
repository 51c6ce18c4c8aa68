"""The lifecycle of ``update()``: plan the tree, then run its tasks phase by phase.

1. **Plan.** An iterative depth-first walk from the root lists the modules in post-order:
   children before parents, siblings in ``submodules`` order, the root last.

   * Each module is planned once, by identity. A cycle ends the walk instead of looping.
   * ``recursive=False`` plans the root alone.

2. **Phases.** For each requested mode (``train``, ``deploy``, ``eval``, always in that order),
   then ``post``, the tasks of every planned module run through the ``lazyplug_run_phase`` and
   ``lazyplug_run_task`` hooks.

   * With one worker they run one by one, in plan order.
   * With more, independent tasks run at once. A module's deploy starts after its descendants'
     deploys have finished, and a module's own tasks keep their order.

3. **Failure.** A failing task ends the update with :class:`~lazyplug.errors.TaskFailedError`,
   naming the module, the phase and the task. The modules whose deploy started in this update
   are stopped again, unless ``keep_on_failure`` was asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from contextvars import copy_context

from . import _hookcalls
from .config import config
from .errors import InvalidArgumentError, InvalidModeError, TaskFailedError
from .host import host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .module.base import ModuleBase

__all__ = ['MODES', 'MODE_ALIASES', 'PHASES', 'Plan', 'Task', 'TaskList', 'normalize_modes', 'plan_modules',
           'run_tasks', 'run_update']

MODES = ('train', 'deploy', 'eval')
MODE_ALIASES = {'server': 'deploy'}
"""Other names of modes: ``server`` is LazyLLM's name of ``deploy``."""
PHASES = (*MODES, 'post')
_GETTERS = {'train': '_get_train_tasks', 'deploy': '_get_deploy_tasks', 'eval': '_get_eval_tasks',
            'post': '_get_post_process_tasks'}
_TREE_ORDERED = frozenset({'deploy', 'post'})  # phases in which parents wait for their descendants


class Task:
    """One callable of one module in one phase. Calling it runs it and records that it did."""

    __slots__ = ('after', 'done', 'fn', 'index', 'module', 'phase', 'started')

    def __init__(self, module: ModuleBase, phase: str, fn: Callable[[], Any], index: int) -> None:
        self.module = module
        self.phase = phase
        self.fn = fn
        self.index = index
        self.after: list[Task] | tuple[()] = ()  # tasks that must finish first (only with several workers)
        self.started = False
        self.done = False

    def __call__(self) -> Any:
        self.started = True
        result = self.fn()
        self.done = True
        return result

    @property
    def label(self) -> str:
        """What the task is, in a few words: its module's short name and, for a public function or
        method, the function's (``Worker(a).train``, ``<lambda> of Outer``, ``ServerModule(classifier)``)."""
        title = self.module._title()
        fn = getattr(self.fn, '__func__', self.fn)
        if not hasattr(fn, '__code__'):  # a flow, an evaluation, a callable object: the module says it
            return title
        name = fn.__qualname__.rsplit('<locals>.', 1)[-1]  # a nested function's own name
        if any(part.startswith('_') for part in name.split('.')):  # internals mean nothing to a reader
            return title
        if getattr(self.fn, '__self__', None) is self.module:
            return f'{title}.{fn.__name__}'
        return f'{name} of {title}'

    @property
    def name(self) -> str:
        """A one-line description: the task's position in its module and what it is (:attr:`label`)."""
        return f'#{self.index} {self.label}'

    def __repr__(self) -> str:
        return f'<Task {self.phase} {self.name}>'


class TaskList(list[Task]):
    """The tasks of one phase, in plan order, with the number of ``workers`` that may run them."""

    def __init__(self, tasks: Iterable[Task], phase: str, workers: int) -> None:
        super().__init__(tasks)
        self.phase = phase
        self.workers = workers


def _short(module: Any) -> str:
    return repr(module).split('\n', 1)[0]


def _walk(root: ModuleBase, recursive: bool, children: dict[int, list[ModuleBase]] | None = None
          ) -> list[ModuleBase]:
    """Post-order modules; fills ``children`` (if given) with each one's children, shared children
    included and cycles cut."""
    if not recursive:
        if children is not None:
            children[id(root)] = []
        return [root]
    order: list[ModuleBase] = []
    done: set[int] = set()
    entered = {id(root)}
    keep = children is not None
    stack: list[tuple[ModuleBase, Any, list[ModuleBase] | None]] = [(root, iter(root.submodules), [] if keep else None)]
    while stack:
        module, pending, kids = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            order.append(module)
            done.add(id(module))
            if children is not None and kids is not None:
                children[id(module)] = kids
        elif id(child) not in entered:
            entered.add(id(child))
            if kids is not None:
                kids.append(child)
            stack.append((child, iter(child.submodules), [] if keep else None))
        elif kids is not None and id(child) in done:
            kids.append(child)  # planned already through another parent; a child still open is a cycle
    return order


def plan_modules(root: ModuleBase) -> list[ModuleBase]:
    """Every module of the tree below ``root`` and root itself, in post-order, each once."""
    return _walk(root, True)


def _absorb(out: list[Callable[[], Any]], value: Any, module: ModuleBase, source: str) -> None:
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _absorb(out, item, module, source)
    elif callable(value):
        out.append(value)
    else:
        raise TypeError(f'{source} of {_short(module)} returned {value!r}; expected a flow, a callable, '
                        'a list of them, or None')


class Plan:
    """What one ``update`` runs: the modules in post-order and, per phase, their tasks."""

    def __init__(self, root: ModuleBase, modes: tuple[str, ...], *, recursive: bool, workers: int,
                 keep_on_failure: bool) -> None:
        self.root = root
        self.modes = modes
        self.recursive = recursive
        self.workers = workers
        self.keep_on_failure = keep_on_failure
        self._children: dict[int, list[ModuleBase]] = {}
        # the tree's shape is needed only to order tasks for several workers
        self.modules = _walk(root, recursive, self._children if workers > 1 else None)
        self._made: list[TaskList] = []

    def tasks(self, phase: str) -> TaskList:
        """The tasks of ``phase``: each module's own, then those plugins add (``lazyplug_collect_tasks``)."""
        getter = _GETTERS[phase]
        collect = host.flags.collect_tasks
        tasks: list[Task] = []
        last: dict[int, Task] = {}
        fns: list[Callable[[], Any]] = []
        for module in self.modules:
            found = getattr(module, getter)()
            if found is None and not collect:
                continue  # the common case: a module with nothing to do in this phase
            fns.clear()
            _absorb(fns, found, module, getter)
            if collect:
                for extra in _hookcalls.collect_tasks(module, phase):
                    _absorb(fns, extra, module, 'lazyplug_collect_tasks')
            for index, fn in enumerate(fns):
                tasks.append(Task(module, phase, fn, index))
            if fns:
                last[id(module)] = tasks[-1]
        if self.workers > 1:
            self._order(tasks, last, phase in _TREE_ORDERED)
        made = TaskList(tasks, phase, self.workers)
        self._made.append(made)
        return made

    def _order(self, tasks: list[Task], last: dict[int, Task], tree_ordered: bool) -> None:
        previous: dict[int, Task] = {}
        for task in tasks:  # a module's own tasks keep their order
            before = previous.get(id(task.module))
            task.after = [before] if before is not None else []
            previous[id(task.module)] = task
        if not tree_ordered:
            return
        frontier: dict[int, list[Task]] = {}  # the nearest tasks at or below each module
        first: dict[int, Task] = {}
        for task in tasks:
            first.setdefault(id(task.module), task)
        for module in self.modules:
            below: list[Task] = []
            for kid in self._children[id(module)]:
                below.extend(frontier.get(id(kid), ()))
            below = list({id(t): t for t in below}.values())
            own = last.get(id(module))
            if own is None:
                frontier[id(module)] = below
            else:
                after = first[id(module)].after
                assert isinstance(after, list)
                after.extend(below)
                frontier[id(module)] = [own]

    def stop_deployed(self) -> None:
        """Stop, parents first, every module whose deploy task started in this update."""
        started = {id(t.module): t.module for made in self._made if made.phase == 'deploy'
                   for t in made if t.started}
        for module in reversed(self.modules):
            if id(module) in started:
                try:
                    module._on_stop()
                except Exception as exc:  # the failure being reported matters more
                    warnings.warn(f'stopping {_short(module)} after a failed update failed: {exc!r}',
                                  RuntimeWarning, stacklevel=2)


def normalize_modes(mode: str | Iterable[str] | None) -> tuple[str, ...]:
    """The requested modes in lifecycle order (``server`` is ``deploy``).

    An unknown mode raises ``InvalidModeError``.
    """
    if mode is None:
        return MODES
    names = {MODE_ALIASES.get(name, name) for name in ((mode,) if isinstance(mode, str) else mode)}
    for name in names - set(MODES):
        raise InvalidModeError(f'unknown mode {name!r}; valid modes are {", ".join(map(repr, MODES))} '
                               "(LazyLLM's 'server' is 'deploy')")
    return tuple(m for m in MODES if m in names)


def run_update(root: ModuleBase, mode: str | Iterable[str] | None, *, recursive: bool = True,
               workers: int | None = None, keep_on_failure: bool = False) -> Plan:
    """Plan ``root``'s tree and run the requested phases through ``lazyplug_update``."""
    modes = normalize_modes(mode)
    if workers is None:
        workers = config['workers']
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InvalidArgumentError(f'workers must be a whole number of at least 1, not {workers!r}')
    host.manager()  # plugins load before planning: the flags say which hooks planning calls
    plan = Plan(root, modes, recursive=recursive, workers=workers, keep_on_failure=keep_on_failure)
    try:
        _hookcalls.update(root, modes, plan)
    except BaseException:
        if not keep_on_failure:
            plan.stop_deployed()
        raise
    return plan


def _run_checked(task: Task, run_one: Callable[[Task], Any]) -> None:
    try:
        run_one(task)
    except TaskFailedError:
        raise
    except Exception as exc:
        raise TaskFailedError(f'{task.phase} task {task.name} failed: '
                              f'{type(exc).__name__}: {exc}', module=task.module, phase=task.phase,
                              task=task) from exc


def run_tasks(tasks: TaskList, run_one: Callable[[Task], Any]) -> None:
    """Run ``tasks`` with ``run_one``.

    * One worker: one by one, in order.
    * More: ``tasks.workers`` at once, each after the tasks of its ``after`` that are in ``tasks``.
    * The first failure ends the phase: no task starts after it, the running ones finish, it is raised.
    """
    if tasks.workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            _run_checked(task, run_one)
        return
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
    from graphlib import TopologicalSorter

    present = set(tasks)
    order = TopologicalSorter({task: [before for before in task.after if before in present] for task in tasks})
    order.prepare()
    ready = deque(order.get_ready())
    running: dict[Future[None], Task] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=tasks.workers, thread_name_prefix='lazyplug-task') as pool:
        while failure is None and (ready or running):
            while ready:
                task = ready.popleft()
                running[pool.submit(copy_context().run, _run_checked, task, run_one)] = task
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                failure = failure or future.exception()
                order.done(task)
            ready.extend(order.get_ready())
    if failure is not None:
        raise failure
