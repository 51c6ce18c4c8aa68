"""The deltas of concurrent branches (a parallel flow's items, a warp's parts), merged as they come.

Each branch runs in a thread of its own, in a copy of the caller's context (sharing its session),
and hands its deltas to the consumer through one queue: they reach the consumer in the order they
were produced, each tagged with its branch. The consumer's thread cannot run branches itself (it
must be free to pass on every branch's deltas), and the shared pool may be busy with the very
branches a nested stream waits for: hence threads of their own.
"""

from __future__ import annotations

import threading
from contextvars import copy_context

from ..context import current_session as _ensure_session
from ..streaming.stream import MARK
from ._pool import Rendezvous, _rendezvous

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from ..streaming.stream import Deltas

__all__ = ['merged']

_DELTA, _DONE, _FAILED = 0, 1, 2


def merged(branches: Sequence[Callable[[], Deltas]], labels: Sequence[Any],
           fail: Callable[[BaseException, int], None]) -> Deltas:
    """The deltas of ``branches`` as ``(label, delta)`` pairs, in the order they come; returns
    their outputs, in branch order.

    The first branch to raise stops the others (at their next delta) and raises here, after
    ``fail(exc, index)`` has annotated it. A consumer that closes the stream stops them all.
    """
    import queue  # here: streaming parallel flows are rare, and `import lazyplug` stays small
    n = len(branches)
    events: queue.SimpleQueue[tuple[int, int, Any]] = queue.SimpleQueue()
    stop = threading.Event()
    _ensure_session()  # the branches share the caller's session: it must exist before contexts are copied
    rendezvous = Rendezvous(n, lambda: None)  # every branch has its thread already
    token = _rendezvous.set(rendezvous)
    contexts = [copy_context() for _ in range(n)]
    _rendezvous.reset(token)

    def branch(index: int) -> None:
        try:
            deltas = branches[index]()
            try:
                while not stop.is_set():
                    try:
                        delta = next(deltas)
                    except StopIteration as end:
                        events.put((index, _DONE, end.value))
                        return
                    events.put((index, _DELTA, delta))
            finally:
                deltas.close()  # stopped: the branch's own producers stop too
        except BaseException as exc:  # handed to the consumer
            events.put((index, _FAILED, exc))
        finally:
            rendezvous.leave()

    for index in range(n):
        threading.Thread(target=contexts[index].run, args=(branch, index), name='lazyplug-stream',
                         daemon=True).start()
    outputs: list[Any] = [None] * n
    left = n
    try:
        while left:
            index, kind, payload = events.get()
            if kind == _DELTA:
                yield payload if payload is MARK else (labels[index], payload)
            elif kind == _DONE:
                outputs[index] = payload
                left -= 1
            else:
                fail(payload, index)
                raise payload
    finally:
        stop.set()
    return outputs
