"""``lazyplug.ThreadPoolExecutor``: a thread pool whose tasks run in their submitter's session."""

from __future__ import annotations

import concurrent.futures
from contextvars import copy_context

from ..context import current_session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar('T')

__all__ = ['ThreadPoolExecutor']


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """``concurrent.futures.ThreadPoolExecutor`` that carries the caller's session into its threads.

    Each task runs in a copy of the submitting thread's context, as LazyLLM's pool does: it sees
    and shares the submitter's ``lazyplug.globals`` and stream queues, so that the deltas of a
    ``ServerModule(..., stream=True)`` called in the pool reach ``FileSystemQueue().dequeue()``
    in the submitter. ``map`` submits through ``submit`` and does the same.
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        current_session()  # the session must exist before the context is copied, or each task makes its own
        return super().submit(copy_context().run, fn, *args, **kwargs)
