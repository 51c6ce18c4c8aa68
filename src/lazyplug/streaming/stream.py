"""Deltas: the values a streaming call produces one by one, and :class:`Stream`, their iterator.

A module whose ``forward`` is a generator (or returns any iterator) streams: its deltas are what
the iterator yields. ``m.stream(x)`` iterates them as they are produced; a plain call ``m(x)``
still returns what ``forward`` returns.

Inside lazyplug a streaming call is a generator that yields the deltas and returns the call's
*output*: what the plain call returns, except that an iterator output is replaced by its deltas
joined (:func:`join`). It first yields :data:`MARK` once a source of deltas has opened, so that
a call which streams nothing can be told from one that streamed no delta.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Generator
    from typing import Any, TypeAlias

    Deltas: TypeAlias = Generator[Any, None, Any]
    """What a streaming call is inside lazyplug: its deltas, then its output as the return value."""

__all__ = ['MARK', 'Stream', 'call_streaming', 'declares_stream', 'drain', 'exhaust', 'join', 'open_call', 'output_of',
           'tagged', 'wants_stream']

class _Mark:
    __slots__ = ()

    def __repr__(self) -> str:
        return '<lazyplug stream opened>'


MARK: Any = _Mark()
"""Yielded (and never shown to a consumer) when a call's deltas begin."""


def join(deltas: list[Any]) -> Any:
    """The output of a stream of ``deltas``: strings (or bytes) concatenated, as LazyLLM joins
    them; ``''`` for none; the list itself for other values."""
    if not deltas:
        return ''
    kind = type(deltas[0])
    if (kind is str or kind is bytes) and all(type(d) is kind for d in deltas):
        return kind().join(deltas)
    return list(deltas)


def drain(out: Any) -> Deltas:
    """The deltas of a call that returned ``out``: those of an iterator (closed when the consumer
    stops), none for any other value; returns the call's output."""
    if type(out) is Stream:  # a module's own stream (an ActionModule's, a ServerModule's)
        return (yield from out._deltas)
    if not isinstance(out, Iterator):
        return out
    yield MARK
    deltas: list[Any] = []
    try:
        for delta in out:
            deltas.append(delta)
            yield delta
    finally:
        close = getattr(out, 'close', None)
        if close is not None:
            close()  # the consumer stopped early: stop the producer too (a no-op once it ended)
    return join(deltas)


def output_of(out: Any) -> Any:
    """What a call that returned ``out`` outputs: an iterator's deltas joined, anything else as is."""
    return exhaust(drain(out)) if type(out) is Stream or isinstance(out, Iterator) else out


def exhaust(deltas: Deltas) -> Any:
    """Run ``deltas`` to its end without showing them; its output."""
    try:
        while True:
            next(deltas)
    except StopIteration as stop:
        return stop.value


def tagged(deltas: Deltas, label: Any) -> Deltas:
    """``deltas`` as ``(label, delta)`` pairs: the deltas of one branch of a parallel flow."""
    try:
        while True:
            delta = next(deltas)
            yield delta if delta is MARK else (label, delta)
    except StopIteration as stop:
        return stop.value
    finally:
        deltas.close()


def declares_stream(target: Any) -> bool:
    """Whether ``target`` is known to stream before it is called: a generator function or method,
    a module whose ``forward`` is one or that was made with ``stream=True``, a flow holding such
    an item, a bind of one. Modules and flows may answer for themselves (``_lp_streams``)."""
    own = getattr(type(target), '_lp_streams', None)
    if own is not None:
        return bool(own(target))
    forward = getattr(type(target), 'forward', None)
    if forward is not None:  # a module
        return getattr(target, '_stream', False) is True or _generator_function(forward)
    return _generator_function(target) or (callable(target) and _generator_function(type(target).__call__))


def _generator_function(f: Any) -> bool:
    while type(f).__name__ == 'partial':
        f = f.func
    code = getattr(getattr(f, '__func__', f), '__code__', None)
    return code is not None and bool(code.co_flags & _CO_GENERATOR)


_CO_GENERATOR = 0x20  # inspect.CO_GENERATOR, without importing inspect


def open_call(target: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Deltas:
    """The deltas of ``target(*args, **kw)``: modules, flows and binds stream through what they hold
    (``_lp_stream``); any other callable streams the iterator it returns."""
    opener = getattr(target, '_lp_stream', None)
    if opener is not None:
        return opener(args, kw)  # type: ignore[no-any-return]
    return drain(target(*args, **kw))


# The module whose call is being made by call_streaming: its forward may return a Stream of its own
# deltas instead of its plain output (wants_stream). A module, not a flag: a call nested inside
# that forward is a plain call again.
_wanted: contextvars.ContextVar[object] = contextvars.ContextVar('lazyplug_stream_wanted', default=None)


def call_streaming(module: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Deltas:
    """The deltas of the module call ``module(*args, **kw)``, made as any call is (hooks, cache,
    plugins); a forward that asks :func:`wants_stream` hands over its own stream."""
    token = _wanted.set(module)
    try:
        out = module(*args, **kw)
    finally:
        _wanted.reset(token)
    return drain(out)


def wants_stream(module: Any) -> bool:
    """Whether the caller of ``module``'s forward iterates its deltas (``module.stream(...)``, a
    streaming flow): then forward may return a :class:`Stream`. Answers True once per call."""
    if _wanted.get() is module:
        _wanted.set(None)
        return True
    return False


class Stream:
    """The deltas of one call, as they are produced: ``for delta in m.stream(x): ...``.

    A call that streams nothing yields its output as its one delta. ``result`` is the call's
    output once the deltas are over: what a plain call returns, with streamed outputs joined.
    An error raised while streaming reaches the consumer where it happened, after the deltas
    produced before it. ``close()`` (or leaving a ``with`` block) stops the call: its generator,
    the served module's generator at the other end of a connection, a parallel flow's branches.
    """

    __slots__ = ('_deltas', '_ended', '_result', '_shown')

    def __init__(self, deltas: Deltas) -> None:
        self._deltas = deltas
        self._shown = False  # a delta (or the opening mark) came out
        self._ended = False
        self._result: Any = None

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Any:
        if self._ended:
            raise StopIteration
        while True:
            try:
                delta = next(self._deltas)
            except StopIteration as stop:
                self._ended = True
                self._result = stop.value
                if self._shown:
                    raise StopIteration from None
                self._shown = True
                return stop.value  # nothing streamed: the output is the one delta
            self._shown = True
            if delta is not MARK:
                return delta

    @property
    def result(self) -> Any:
        """The call's output; reading it before the deltas are over consumes the rest of them."""
        if not self._ended:
            for _ in self:
                pass
        return self._result

    def close(self) -> None:
        """Stop the call: no more deltas are produced."""
        self._ended = True
        self._deltas.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f'<lazyplug Stream {"ended" if self._ended else "open"}>'
