"""One plain line per phase on standard output (``train: 1 task done in 2.31 s``).

``lazyplug update`` shows it when the progress display is off, so that a log shows what ran and
how long each phase took. It is a hook plugin like any other, registered for the command's run.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import click

from ..plugins import hookimpl

if TYPE_CHECKING:
    from collections.abc import Generator

    from ..lifecycle import TaskList
    from ..module.base import ModuleBase

__all__ = ['PhaseSummary']


class PhaseSummary:
    """The plugin: a line when a phase with tasks ends, in the outermost update only.

    A task may run an update of its own: its phases print nothing.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._lock = threading.Lock()

    @hookimpl(wrapper=True)
    def lazyplug_run_phase(self, root: ModuleBase, phase: str, tasks: TaskList) -> Generator[None, Any, Any]:
        with self._lock:
            self._depth += 1
            outer = self._depth == 1
        start = time.perf_counter()
        try:
            result = yield
        except BaseException:
            if outer and tasks:
                click.echo(f'{phase}: {_tasks(len(tasks))} failed after '
                           f'{time.perf_counter() - start:.2f} s')
            raise
        finally:
            with self._lock:
                self._depth -= 1
        if outer and tasks:
            click.echo(f'{phase}: {_tasks(len(tasks))} done in {time.perf_counter() - start:.2f} s')
        return result


def _tasks(count: int) -> str:
    return f'{count} task{"s" if count != 1 else ""}'
