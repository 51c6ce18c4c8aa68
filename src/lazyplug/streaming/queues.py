"""The stream queues of a session: LazyLLM's ``FileSystemQueue`` idiom, without its mixing.

A ``ServerModule(..., stream=True)`` called plainly returns its output and puts its deltas on
the stream queue of the caller's session, where ``FileSystemQueue().dequeue()`` takes them
(LazyLLM's idiom: the call runs in a ``lazyplug.ThreadPoolExecutor``, which carries the session,
while the caller dequeues). Each queue belongs to one session (``lazyplug.globals``): other
sessions never see its deltas.

Concurrent calls in one session do not mix either: each call's deltas form an *entry*, entries
are kept in the order their first deltas came, and ``dequeue()`` returns deltas of the oldest
entry only, until that call has ended and its deltas are all taken. So everything dequeued,
joined, is each call's output in turn, never an interleaving (LazyLLM issue #454). Deltas wait
until they are dequeued or cleared, as in LazyLLM: a session that never reads its queue keeps them.

A call crosses processes only as a call of a served module, and its reply carries the deltas
queued in the server during the call (``lazyplug.serve.app``): the caller's queue receives
them as they come, so no file or Redis database has to be shared, and nothing is polled.
"""

from __future__ import annotations

import threading
from collections import deque

from ..context import current_session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['DEFAULT', 'Entry', 'FileSystemQueue', 'SessionQueue', 'queue_of', 'relay']

DEFAULT = '__default__'
"""The name (LazyLLM's ``klass``) of the queue that streamed deltas go to."""


class Entry:
    """The deltas of one call, in order; ``ended`` once the call will add no more."""

    __slots__ = ('ended', 'items')

    def __init__(self, ended: bool = False) -> None:
        self.items: deque[Any] = deque()
        self.ended = ended


class SessionQueue:
    """One named stream queue of one session: entries of deltas, oldest first.

    With a ``sink`` (a server relaying the queue to its caller), deltas go to the sink, in the
    same order ``take`` would give them, instead of waiting here.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.sink: Callable[[str, Any], None] | None = None
        self._entries: deque[Entry] = deque()
        self._lock = threading.Lock()

    def open(self) -> Entry:
        """A new entry, after every existing one, for the deltas of one call."""
        entry = Entry()
        with self._lock:
            self._entries.append(entry)
        return entry

    def put(self, entry: Entry, delta: Any) -> None:
        """Add ``delta`` to ``entry`` (opened by :meth:`open`)."""
        with self._lock:
            entry.items.append(delta)
            if self.sink is not None:
                self._pump()

    def end(self, entry: Entry) -> None:
        """The call of ``entry`` is over: later entries may be taken once its deltas are."""
        with self._lock:
            entry.ended = True
            if self.sink is not None:
                self._pump()

    def enqueue(self, message: Any) -> None:
        """Add a delta that belongs to no call (LazyLLM's ``enqueue``): after every call's entry."""
        with self._lock:
            last = self._entries[-1] if self._entries else None
            if last is None or not (last.ended and type(last) is _Loose):
                last = _Loose()
                self._entries.append(last)
            last.items.append(message)
            if self.sink is not None:
                self._pump()

    def take(self, limit: int | None = None) -> list[Any]:
        """Remove and return the deltas of the oldest entry that has some (at most ``limit``)."""
        with self._lock:
            return self._take(limit)

    def _take(self, limit: int | None) -> list[Any]:
        entries = self._entries
        while entries:
            head = entries[0]
            if head.items:
                items = head.items
                if limit is None or limit >= len(items):
                    taken = list(items)
                    items.clear()
                else:
                    taken = [items.popleft() for _ in range(limit)]
                if head.ended and not items:
                    entries.popleft()
                return taken
            if not head.ended:
                return []  # its call is running: later calls wait their turn
            entries.popleft()
        return []

    def _pump(self) -> None:
        sink = self.sink
        assert sink is not None
        while taken := self._take(None):
            for delta in taken:
                sink(self.name, delta)

    def peek(self) -> Any:
        """The delta ``take`` would return first, left in place; None if there is none yet."""
        with self._lock:
            for entry in self._entries:
                if entry.items:
                    return entry.items[0]
                if not entry.ended:
                    return None
        return None

    def size(self) -> int:
        """How many deltas wait, in every entry."""
        with self._lock:
            return sum(len(entry.items) for entry in self._entries)

    def clear(self) -> None:
        """Drop every waiting delta (the entries of running calls stay open, emptied)."""
        with self._lock:
            for entry in self._entries:
                entry.items.clear()
            self._entries = deque(entry for entry in self._entries if not entry.ended)


class _Loose(Entry):
    """Deltas enqueued outside any call: an entry that is over as soon as it is made."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(ended=True)


class _SessionQueues:
    """The stream queues of one session, by name, and where a server relays them."""

    __slots__ = ('queues', 'sink')

    def __init__(self) -> None:
        self.queues: dict[str, SessionQueue] = {}
        self.sink: Callable[[str, Any], None] | None = None


_made = threading.Lock()


def _queues() -> _SessionQueues:
    session = current_session()
    queues: _SessionQueues | None = getattr(session, 'streams', None)
    if queues is None:
        with _made:
            queues = getattr(session, 'streams', None)
            if queues is None:
                queues = session.streams = _SessionQueues()
    return queues


def queue_of(name: str = DEFAULT) -> SessionQueue:
    """The stream queue ``name`` of the current session."""
    queues = _queues()
    found = queues.queues.get(name)
    if found is None:
        with _made:
            found = queues.queues.get(name)
            if found is None:
                found = queues.queues[name] = SessionQueue(name)
                found.sink = queues.sink
    return found


def relay(sink: Callable[[str, Any], None] | None) -> None:
    """Send every stream queue of the current session to ``sink(name, delta)`` from now on (a
    server relaying them to its caller); None keeps them here again."""
    queues = _queues()
    with _made:
        queues.sink = sink
        held = list(queues.queues.values())
    for queue in held:
        with queue._lock:
            queue.sink = sink
            if sink is not None:
                queue._pump()


class FileSystemQueue:
    """LazyLLM's stream queue of the current session: ``FileSystemQueue().dequeue()``.

    ``FileSystemQueue(klass=name)`` (or ``get_instance(name)``) is the queue ``name``; the default
    one holds the deltas of ``ServerModule(..., stream=True)`` calls. One object per name serves
    every session: each method works on the queue of the session it is called in. Nothing is
    written to a file: the queue lives in this process, and the deltas of calls made in other
    processes come with their replies (see the module's documentation).
    """

    _instances: dict[str, FileSystemQueue] = {}
    _klass: str

    def __new__(cls, *, klass: str = DEFAULT) -> FileSystemQueue:
        if not isinstance(klass, str) or not klass:
            from ..errors import InvalidArgumentError
            raise InvalidArgumentError(f'a FileSystemQueue is named by a non-empty string, not {klass!r}')
        made = cls._instances.get(klass)
        if made is None:
            made = super().__new__(cls)
            made._klass = klass
            made = cls._instances.setdefault(klass, made)
        return made

    @classmethod
    def get_instance(cls, klass: str) -> FileSystemQueue:
        """The queue named ``klass``."""
        return cls(klass=klass)

    def enqueue(self, message: Any) -> None:
        """Add ``message`` at the end of this session's queue."""
        queue_of(self._klass).enqueue(message)

    def dequeue(self, limit: int | None = None) -> list[Any]:
        """Remove and return the waiting deltas of one call (at most ``limit``): of the oldest call
        that has any, in the order they came; ``[]`` when none wait."""
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            from ..errors import InvalidArgumentError
            raise InvalidArgumentError(f'dequeue(limit=...) takes a whole number of at least 1 or None, not {limit!r}')
        return queue_of(self._klass).take(limit)

    def peek(self) -> Any:
        """The delta ``dequeue`` would return first, left in the queue; None if none waits."""
        return queue_of(self._klass).peek()

    def size(self) -> int:
        """How many deltas wait in this session's queue."""
        return queue_of(self._klass).size()

    def clear(self) -> None:
        """Drop the deltas waiting in this session's queue."""
        queue_of(self._klass).clear()

    def init(self) -> None:
        """``clear()``, LazyLLM's other name for it."""
        self.clear()

    def __repr__(self) -> str:
        return f'<lazyplug FileSystemQueue {self._klass!r}>'
