"""The thread pool shared by parallel flows and evaluation.

One bounded pool serves the whole process (LazyLLM builds a new pool per call). A nested parallel
flow cannot deadlock it: the calling thread claims and runs every item no worker has picked up yet,
so a thread only ever waits for items that are already running somewhere. The one exception is an
item waiting at a barrier for its siblings: the first such wait starts a thread for every sibling
no thread has claimed yet.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar, copy_context

from ..config import config
from ..context import current_session
from ..errors import FlowError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


__all__ = ['Rendezvous', 'current_rendezvous', 'run_all', 'run_each']


class Rendezvous:
    """The items of one concurrent call, which ``barrier`` makes wait for each other.

    Every item that waits blocks until all of them wait; then all go on. Once an item has ended, a
    barrier cannot open again: items waiting there, and items that come later, get a FlowError
    rather than waiting for ever. Most calls never wait: until one does, a call costs one object.
    """

    __slots__ = ('_arrived', '_cond', '_ended', '_generation', '_parties', '_start_rest')

    def __init__(self, parties: int, start_rest: Callable[[], None]) -> None:
        self._parties = parties
        self._start_rest = start_rest  # gives every item no thread has claimed yet a thread
        self._cond: threading.Condition | None = None  # made by the first wait
        self._arrived = 0
        self._generation = 0
        self._ended = False

    def wait(self) -> None:
        """Block until every item of the call waits here too."""
        with _rendezvous_lock:
            cond = self._cond
            if cond is None:
                cond = self._cond = threading.Condition()
                self._start_rest()
        with cond:
            # an item that ended before the condition existed is seen here: leave() sets
            # _ended before it reads _cond, and this reads _ended after setting _cond
            if self._ended:
                raise FlowError(_NEVER_OPENS)
            generation = self._generation
            self._arrived += 1
            if self._arrived == self._parties:
                self._arrived = 0
                self._generation += 1
                cond.notify_all()
                return
            while generation == self._generation and not self._ended:
                cond.wait()
            if generation == self._generation:
                raise FlowError(_NEVER_OPENS)

    def leave(self) -> None:
        """An item has ended (returned or raised): it will never reach another barrier."""
        self._ended = True
        cond = self._cond
        if cond is not None:
            with cond:
                cond.notify_all()


_NEVER_OPENS = ('barrier: an item of this parallel call ended without reaching it, so it can never open; '
                'give every item the same number of barriers')
_rendezvous_lock = threading.Lock()


_rendezvous: ContextVar[Rendezvous | None] = ContextVar('lazyplug_rendezvous', default=None)


def current_rendezvous() -> Rendezvous | None:
    """The rendezvous of the concurrent call whose item is running here, if any."""
    return _rendezvous.get()


class _WorkerPool:
    """Daemon threads fed from one queue, started on demand up to the ``thread_pool_workers``
    setting in force when they are needed."""

    def __init__(self) -> None:
        import queue
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for a job that no queued job is meant for yet
        self._backlog = 0  # queued jobs no thread was free for when they came

    def submit(self, job: Callable[[], None]) -> None:
        self._queue.put(job)
        with self._lock:
            if self._idle:
                self._idle -= 1  # that idle thread will take the job
                return
            if self._threads >= config['thread_pool_workers']:
                self._backlog += 1
                return
            self._threads += 1
        threading.Thread(target=self._work, name=f'lazyplug-{self._threads}', daemon=True).start()

    def _work(self) -> None:
        get = self._queue.get
        while True:
            job = get()
            job()
            with self._lock:
                # a backlogged job is waiting: this thread takes it without becoming idle, or the
                # next submit would count on this thread for its own job and leave it unserved
                if self._backlog:
                    self._backlog -= 1
                else:
                    self._idle += 1


_pool: _WorkerPool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _WorkerPool:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _WorkerPool()
    return _pool


def _forget_pool_after_fork() -> None:
    global _pool
    _pool = None  # its threads do not exist in the child


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def run_all(calls: Sequence[Callable[[], Any]], *,
            barrier: bool = False) -> tuple[list[Any], list[BaseException | None]]:
    """Run ``calls`` concurrently, each in a copy of the caller's context; wait for all of them.

    Returns the results and the exceptions, both in the order of ``calls`` (a failed call's result
    is None, a successful call's exception is None). With ``barrier``, the calls are the items of a
    parallel flow: ``current_rendezvous()`` is theirs while they run.
    """
    current_session()  # the items share the caller's session: it must exist before contexts are copied
    n = len(calls)
    results: list[Any] = [None] * n
    errors: list[BaseException | None] = [None] * n
    rendezvous: Rendezvous | None = None
    if barrier:
        rendezvous = Rendezvous(n, lambda: _start_threads(work, n - 1))
        token = _rendezvous.set(rendezvous)
        contexts = [copy_context() for _ in range(n)]
        _rendezvous.reset(token)
    else:
        contexts = [copy_context() for _ in range(n)]
    claim = itertools.count().__next__
    finish = itertools.count(1).__next__
    all_done = threading.Lock()
    all_done.acquire()

    def work() -> None:
        while (i := claim()) < n:
            try:
                results[i] = contexts[i].run(calls[i])
            except BaseException as exc:  # handed back to the caller
                errors[i] = exc
            if rendezvous is not None:
                rendezvous.leave()
            if finish() == n:
                all_done.release()

    pool = _get_pool()
    for _ in range(min(n, config['thread_pool_workers'] + 1) - 1):
        pool.submit(work)
    work()
    all_done.acquire()
    return results, errors


def _start_threads(work: Callable[[], None], count: int) -> None:
    # threads of their own, not the pool's: the pool may be busy with the very items that wait
    for _ in range(count):
        threading.Thread(target=work, name='lazyplug-barrier', daemon=True).start()


def run_each(calls: Sequence[Callable[[], Any]]) -> tuple[list[Any], list[BaseException | None]]:
    """``run_all``'s sequential twin: the calls one by one in the caller's thread, every one run."""
    results: list[Any] = []
    errors: list[BaseException | None] = []
    for call in calls:
        try:
            results.append(call())
            errors.append(None)
        except Exception as exc:
            results.append(None)
            errors.append(exc)
    return results, errors
