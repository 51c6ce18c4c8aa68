"""uvicorn's HTTP/1.1 protocol (httptools), with a deadline for every request and JSON errors.

uvicorn closes a connection left idle between requests (its keep-alive timeout) but waits for a
request's head and body as long as they take: a client that opens connections and sends slowly,
or not at all (slowloris), holds them and their file descriptors for as long as it likes. Here a
request must have arrived whole, head and body, ``read_timeout`` seconds after its first byte
(after the connection opened, for the first one), or the connection is closed: the app is told
the client went away, and the call does not run. An idle connection is cut at once when the
server stops (over TLS, a polite close would wait for the client). uvicorn's reply to a request
it cannot parse is JSON here, like every other error reply.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .app import error_body

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from typing import Any

__all__ = ['DeadlineHttpToolsProtocol']


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that closes a connection whose request is not whole within
    ``read_timeout`` seconds."""

    def __init__(self, *args: Any, read_timeout: float, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.read_timeout = read_timeout
        self.read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            # idle: nothing to finish; closing a TLS connection would wait for the client's
            # close_notify, which an idle client (in its keep-alive pool) does not send
            self.transport.abort()
        else:
            super().shutdown()

    def send_400_response(self, msg: str) -> None:
        body = error_body('BadRequest', f'{msg.rstrip(".")}: not HTTP/1.1', getattr(self.app, 'name', ''))
        self.transport.write(b'HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n'
                             b'content-length: %d\r\nconnection: close\r\n\r\n%s' % (len(body), body))
        self.transport.close()

    def _arm(self) -> None:
        if self.read_deadline is None:
            self.read_deadline = self.loop.call_later(self.read_timeout, self._expire)

    def _disarm(self) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
            self.read_deadline = None

    def _expire(self) -> None:
        self.read_deadline = None
        self.transport.abort()  # at once: over TLS, close() would wait for the stalled client
