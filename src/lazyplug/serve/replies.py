"""How a call's worker thread hands its reply to the server's event loop: whole, or line by line.

A call that streams nothing gets a plain reply (a status and a JSON body), sent in one piece. A
call that streams (deltas, or deltas queued by calls it makes) gets a chunked reply of JSON
lines, begun with its first line: each line leaves as soon as the loop can send it, several at a
time when they come faster than the loop sends (one wake-up of the loop per batch, not per line).

The worker waits when :data:`BACKLOG` lines are waiting to be sent (a client that reads slowly
slows the generator, rather than filling this process's memory). A client that goes away cancels
the reply: the worker learns it at its next line and stops its generator.
"""

from __future__ import annotations

import asyncio
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]

__all__ = ['BACKLOG', 'CONTENT_TYPE', 'STREAMING', 'Reply']

BACKLOG = 1024
"""Lines of one reply that may wait to be sent before its worker waits."""

CONTENT_TYPE = b'application/x-ndjson'
"""The media type of a streamed reply: JSON lines (one JSON object per line)."""

STREAMING: Any = object()
"""What :attr:`Reply.first` resolves to when the reply is streamed."""


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


class Reply:
    """The reply to one call, written by its worker thread and sent by the event loop.

    The worker calls :meth:`line` for every streamed line, then :meth:`finish` once. The loop
    awaits :attr:`first`: the plain reply, or :data:`STREAMING`, and then :meth:`send`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.first: asyncio.Future[Any] = loop.create_future()
        self.cancelled = False
        self.streamed = False  # the call streamed (its output is not a delta): the worker's to set
        self._lines: list[bytes] = []
        self._started = False
        self._ended = False
        self._wake_pending = False
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._ready = asyncio.Event()

    # -- the worker's side ---------------------------------------------------------------------
    def line(self, data: bytes) -> bool:
        """Send ``data`` (one JSON line, with its newline); False once the client has gone away."""
        with self._lock:
            while len(self._lines) >= BACKLOG and not self.cancelled:
                self._room.wait()
            if self.cancelled or self._ended:
                return False
            self._lines.append(data)
            start, self._started = not self._started, True
            wake, self._wake_pending = not self._wake_pending, True
        if start:
            self.loop.call_soon_threadsafe(_resolve, self.first, STREAMING)
        if wake:
            self.loop.call_soon_threadsafe(self._ready.set)
        return True

    def finish(self, status: int, body: bytes) -> None:
        """The call is over: its reply is ``status`` and the JSON ``body``, or, when lines were
        sent already, ``body`` is the last line (an error's status is then lost: the JSON says it)."""
        with self._lock:
            self._ended = True
            streamed = self._started
            if streamed and not self.cancelled:
                self._lines.append(body + b'\n')
            wake, self._wake_pending = not self._wake_pending, True
        if not streamed:
            self.loop.call_soon_threadsafe(_resolve, self.first, (status, body))
        elif wake:
            self.loop.call_soon_threadsafe(self._ready.set)

    # -- the loop's side -----------------------------------------------------------------------
    async def send(self, send: Send, receive: Receive, headers: list[tuple[bytes, bytes]]) -> None:
        """Send the streamed reply until the worker has ended (also when the client went away)."""
        await send({'type': 'http.response.start', 'status': 200, 'headers': headers})
        watch = asyncio.ensure_future(self._watch(receive))
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                with self._lock:
                    lines, self._lines = self._lines, []
                    ended = self._ended
                    self._wake_pending = False
                    self._room.notify()
                if not self.cancelled and (lines or ended):
                    await send({'type': 'http.response.body', 'body': b''.join(lines), 'more_body': not ended})
                if ended:
                    return
        finally:
            watch.cancel()
            self.cancel()  # (a no-op once ended) sending failed: the worker must not wait for room

    async def _watch(self, receive: Receive) -> None:
        # the request was read whole: receive() returns only when the client disconnects (or the
        # reply is complete, when this task is cancelled anyway)
        await receive()
        self.cancel()

    def cancel(self) -> None:
        """The client went away: drop what waits, and tell the worker at its next line."""
        with self._lock:
            self.cancelled = True
            self._lines = []
            self._room.notify_all()
