"""Built-in plugin: the progress of ``update()``, phase by phase and task by task.

* It is registered only while the ``progress`` setting is on (``LAZYPLUG_PROGRESS=1``, or
  ``lazyplug update`` on a terminal or with ``--progress``). Off, an update pays nothing for it.
* On a terminal it draws a live display (rich): a bar per phase, a row per running task, and
  items done / total for an evaluation.
* Elsewhere it writes plain lines to standard error: when a phase starts and ends, and when a
  task ends, with timings.

It is also the reference example of a hook plugin, using three hooks:

* ``lazyplug_run_phase`` and ``lazyplug_run_task`` as *wrappers* (``wrapper=True``). Code before
  the ``yield`` runs before the phase or task. The ``yield`` runs it, returning its result or
  raising its exception. Code after it runs after.
* ``lazyplug_task_progress``, which an evaluation calls as its items finish.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from ..plugins import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from ..lifecycle import Task, TaskList
    from ..module.base import ModuleBase

__all__ = ['lazyplug_run_phase', 'lazyplug_run_task', 'lazyplug_task_progress']

_Key = tuple[int, str]  # (id of the module, phase): the running task of that module in that phase


def _label(task: Task, phase: str) -> str:
    """``deploy ServerModule(classifier)``: what a task does to what, short enough for one terminal row."""
    return f'{phase} {task.label}'


class _LineDisplay:
    """Plain lines on standard error, one at a time (tasks may end on several threads at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            sys.stderr.write(f'lazyplug: {text}\n')
            sys.stderr.flush()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def phase_started(self, phase: str, count: int) -> Any:
        self._write(f'{phase}: {_tasks(count)}')

    def phase_ended(self, handle: Any, phase: str, count: int, seconds: float, error: BaseException | None) -> None:
        outcome = f'failed after {seconds:.2f} s' if error is not None else f'done in {seconds:.2f} s'
        self._write(f'{phase}: {_tasks(count)} {outcome}')

    def task_started(self, key: _Key, label: str) -> None:
        pass

    def items(self, key: _Key, done: int, total: int) -> None:
        pass  # counted, and shown when the task ends

    def task_ended(self, key: _Key, label: str, seconds: float, error: BaseException | None,
                   phase: Any, items: tuple[int, int] | None) -> None:
        counted = f' ({items[0]}/{items[1]} items)' if items is not None else ''
        outcome = 'failed' if error is not None else 'done'
        self._write(f'{key[1]}: {outcome} {label} in {seconds:.2f} s{counted}')


def _tasks(count: int) -> str:
    return f'{count} task{"s" if count != 1 else ""}'


class _LiveDisplay:
    """A rich live display on standard error: a bar per phase, a row per running task."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.table import Column
        # a long description is cut (…) rather than wrapped or left to push the bar, the count and
        # the time off an 80-column row
        description = TextColumn('{task.description}', table_column=Column(no_wrap=True, overflow='ellipsis',
                                                                             ratio=1))
        self._progress = Progress(SpinnerColumn(), description, BarColumn(bar_width=20), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(stderr=True), expand=True)
        self._rows: dict[_Key, Any] = {}

    def start(self) -> None:
        self._progress.start()

    def stop(self) -> None:
        self._progress.stop()

    def phase_started(self, phase: str, count: int) -> Any:
        return self._progress.add_task(f'[bold]{phase}[/bold]', total=count)

    def phase_ended(self, handle: Any, phase: str, count: int, seconds: float, error: BaseException | None) -> None:
        status = '[red]failed[/red]' if error is not None else 'done'
        self._progress.update(handle, description=f'[bold]{phase}[/bold] {status}')
        self._progress.stop_task(handle)

    def task_started(self, key: _Key, label: str) -> None:
        from rich.markup import escape
        self._rows[key] = self._progress.add_task(f'  {escape(label)}', total=None)

    def items(self, key: _Key, done: int, total: int) -> None:
        row = self._rows.get(key)
        if row is not None:
            # drawn at once when the last item finishes: the timed refresh may come after the row is gone
            self._progress.update(row, total=total, completed=done, refresh=done == total)

    def task_ended(self, key: _Key, label: str, seconds: float, error: BaseException | None,
                   phase: Any, items: tuple[int, int] | None) -> None:
        row = self._rows.pop(key, None)
        if row is not None:
            self._progress.remove_task(row)
        if phase is not None:
            self._progress.advance(phase)


class _SharedDisplay:
    """The display of the updates in progress, with the items counted for each running task.

    The outermost phase makes it. Nested updates (run by a task of another) share it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.display: _LineDisplay | _LiveDisplay | None = None
        self.items: dict[_Key, tuple[int, int]] = {}

    def enter(self) -> _LineDisplay | _LiveDisplay:
        with self.lock:
            if self.display is None:
                # drawn on standard error: whether stdout is piped (`| tee log`) does not matter
                self.display = _LiveDisplay() if sys.stderr.isatty() else _LineDisplay()
                self.display.start()
            self.depth += 1
            return self.display

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.display is not None:
                display, self.display = self.display, None
                display.stop()

    def count(self, key: _Key, done: int, total: int) -> int:
        """Record that ``done`` of ``total`` items are finished; the most reported so far (reports
        come from several threads, not necessarily in order)."""
        with self.lock:
            done = max(done, self.items.get(key, (0, 0))[0])
            self.items[key] = (done, total)
            return done


_shared = _SharedDisplay()
_phase: contextvars.ContextVar[Any] = contextvars.ContextVar('lazyplug_progress_phase', default=None)
"""The display's handle of the phase whose tasks run in this context (tasks on worker threads get a copy)."""


def _timed(ended: Callable[[float, BaseException | None], None]) -> Generator[None, Any, Any]:
    """The body of a wrapper: run what it wraps (``yield``), then report its duration and outcome."""
    start = time.perf_counter()
    try:
        result = yield
    except BaseException as exc:
        ended(time.perf_counter() - start, exc)
        raise
    ended(time.perf_counter() - start, None)
    return result


@hookimpl(wrapper=True)
def lazyplug_run_phase(root: ModuleBase, phase: str, tasks: TaskList) -> Generator[None, Any, Any]:
    if not tasks:  # nothing to show: a phase without tasks is over before it started
        return (yield)
    display = _shared.enter()
    count = len(tasks)
    handle = display.phase_started(phase, count)
    token = _phase.set(handle)
    try:
        return (yield from _timed(lambda seconds, error: display.phase_ended(handle, phase, count, seconds, error)))
    finally:
        _phase.reset(token)
        _shared.leave()


@hookimpl(wrapper=True)
def lazyplug_run_task(module: ModuleBase, phase: str, task: Task) -> Generator[None, Any, Any]:
    display = _shared.display
    if display is None:  # a task run outside a phase (by another plugin): nothing to draw it in
        return (yield)
    key = (id(module), phase)
    # a row of the live display is short; a line of a log may say which task it was (#0, ...)
    label = _label(task, phase) if isinstance(display, _LiveDisplay) else task.name
    display.task_started(key, label)
    phase_handle = _phase.get()

    def ended(seconds: float, error: BaseException | None) -> None:
        with _shared.lock:
            items = _shared.items.pop(key, None)
        display.task_ended(key, label, seconds, error, phase_handle, items)

    return (yield from _timed(ended))


@hookimpl
def lazyplug_task_progress(module: ModuleBase, phase: str, done: int, total: int) -> None:
    display = _shared.display
    if display is not None:
        key = (id(module), phase)
        display.items(key, _shared.count(key, done, total), total)
