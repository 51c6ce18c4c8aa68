"""Streaming: the deltas of a call as they are produced, and LazyLLM's session stream queue.

* :class:`Stream` (``m.stream(x)`` on any module, flow or ServerModule): see :mod:`.stream`;
* :class:`FileSystemQueue`: the stream queues of a session, see :mod:`.queues`;
* :class:`ThreadPoolExecutor`: a thread pool whose tasks run in their submitter's session.
"""

from __future__ import annotations

from .._lazy import lazy_attributes
from .stream import Stream

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .executor import ThreadPoolExecutor
    from .queues import FileSystemQueue

__all__ = ['FileSystemQueue', 'Stream', 'ThreadPoolExecutor']

__getattr__ = lazy_attributes(__name__, {'FileSystemQueue': '.queues', 'ThreadPoolExecutor': '.executor'})
