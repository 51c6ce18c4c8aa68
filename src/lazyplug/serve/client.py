"""Calling a served module: one keep-alive HTTP/1.1 connection per thread and server, TLS for https.

A call runs at most once. A request is written again only when it cannot have run: its
connection was found closed (or unusable) before anything was written, or writing it failed (a
server cannot act on a request it did not receive whole), or it was refused at once by a
server that runs as many calls as it may (503). Once a request is written whole, a timeout or a
dropped or unreadable reply is :class:`~lazyplug.errors.CallOutcomeUnknownError` (or
:class:`~lazyplug.errors.CallTimeoutError`): the call may or may not have run, and it is not
sent again.

The connections are :class:`~lazyplug.serve.connection.Connection` (HTTP/1.1, TLS for https).
Connecting waits at most the ``connect_timeout`` setting; a machine that goes silent under an
open connection ends it after about as long (the call, if it was written, may have run).

A service of several replicas: each call goes to the next replica in turn, passing over those
this process could not reach lately (:mod:`~lazyplug.serve.reachability`). A replica that cannot
be reached, or is busy, passes the call to the next. A client that knows where to look the
service up (``lookup``) follows its replicas: in the background, while one of them is
unreachable (every second) and otherwise every ``REFRESH_EVERY`` seconds of use; and at once
when none of those it knows can be reached.
"""

from __future__ import annotations

import errno
import itertools
import json
import threading
import time
import urllib.parse
from functools import partial

from .. import _hookcalls
from ..config import config
from ..context import globals as _globals
from ..errors import (
    AuthenticationError,
    CallOutcomeUnknownError,
    CallTimeoutError,
    CodecError,
    RemoteError,
    ServiceBusyError,
    ServiceUnavailableError,
)
from ..host import host
from ..streaming.queues import DEFAULT, Entry, SessionQueue, queue_of
from ..streaming.stream import MARK, exhaust
from . import codec, plugin_headers
from .connection import Connection, ProtocolError, chunked
from .reachability import Reachability
from .replies import CONTENT_TYPE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..streaming.stream import Deltas

__all__ = ['REFRESH_EVERY', 'ServiceClient', 'health', 'reachability']

REFRESH_EVERY = 5.0
"""Seconds between two look-ups of a service's replicas by a client in use (1 s while one is unreachable)."""

_connections = threading.local()  # {scheme://netloc: Connection} of this thread
_flags = host.flags
def _why(exc: BaseException) -> str:
    if type(exc).__name__ == 'SSLCertVerificationError':
        return (f'its TLS certificate does not verify ({getattr(exc, "verify_message", exc)}): set the ca_file '
                'setting (LAZYPLUG_CA_FILE) to the PEM file of the authority that signed it')
    return f'{type(exc).__name__}: {exc}'


def _post(url: str, path: str, body: bytes, headers: bytes) -> tuple[int, bytes | _Lines]:
    """Send one request to ``url``; see the module's documentation for when it is sent again.

    The reply's body is read whole, unless it is a stream of JSON lines: then its lines are read
    as they come (:class:`_Lines`).
    """
    parts = urllib.parse.urlsplit(url)
    base = f'{parts.scheme}://{parts.netloc}'
    pool: dict[str, Connection] = _connections.__dict__.setdefault('pool', {})
    timeout = float(config['call_timeout'])
    connect_timeout = float(config['connect_timeout'])
    for attempt in (0, 1):
        conn = pool.pop(base, None)
        if conn is not None and not conn.usable():
            conn.close()
            conn = None
        reused = conn is not None
        try:
            if conn is None:
                conn = Connection(base, timeout, connect_timeout)
            conn.send(b'POST', path, body, headers, timeout)
        except (OSError, ValueError) as exc:
            if conn is not None:
                conn.close()
            if reused and attempt == 0:
                continue  # closed by the server as it was written: the request is not whole there, so once more
            if isinstance(exc, TimeoutError) and not reused:
                raise ServiceUnavailableError(f'the service at {url} cannot be reached: its machine did not accept '
                                              f'a connection within {connect_timeout:g} s (the connect_timeout '
                                              'setting); the call did not run') from exc
            raise ServiceUnavailableError(f'the service at {url} cannot be reached ({_why(exc)}); the call did not '
                                          'run') from exc
        try:
            status, fields = conn.read_head()
            if status == 200 and fields.get(b'content-type') == _LINES and chunked(fields):
                return status, _Lines(conn, url, base, timeout)
            data = conn.read_body(status, fields)
        except (OSError, ProtocolError) as exc:
            conn.close()
            raise _lost(exc, url, timeout, 'its reply was lost') from exc
        _keep(pool, base, conn)
        return status, data
    raise AssertionError('unreachable')


def _keep(pool: dict[str, Connection], base: str, conn: Connection) -> None:
    """Keep ``conn`` (its reply read whole) for the next request to ``base`` from this thread."""
    if conn.reusable:
        old = pool.get(base)
        if old is not None:  # a stream ended after another request opened a connection meanwhile
            old.close()
        pool[base] = conn
    else:
        conn.close()


def _lost(exc: BaseException, url: str, timeout: float, what: str) -> CallOutcomeUnknownError:
    """The error for a call written whole whose reply did not come (whole): it may have run."""
    if isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT:  # the kernel's verdict: see watch_peer
        return CallOutcomeUnknownError(f'the machine of the service at {url} went silent during the call (nothing '
                                       f'acknowledged for {float(config["connect_timeout"]):g} s, the '
                                       'connect_timeout setting): the call may or may not have run')
    if isinstance(exc, TimeoutError):
        return CallTimeoutError(f'the service at {url} did not answer within {timeout:g} s (the call_timeout '
                                'setting): the call may or may not have run, and may still be running')
    return CallOutcomeUnknownError(f'the service at {url} took the call but {what} ({_why(exc)}): the call may or '
                                   'may not have run')


_LINES = CONTENT_TYPE


class _Lines:
    """The JSON lines of a streamed reply, decoded one by one as they arrive.

    The connection goes back to this thread's pool when the reply has been read to its end; a
    reader closed before that closes it (the server then stops the call's generator).
    """

    def __init__(self, conn: Connection, url: str, base: str, timeout: float) -> None:
        self.conn = conn
        self.url = url
        self._base = base
        self._timeout = timeout
        self._chunks = conn.chunks()
        self._pending = b''
        self._lines: list[bytes] = []
        self.read = 0  # lines read so far
        self._done = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> dict[str, Any]:
        while not self._lines:
            if self._done:
                raise StopIteration
            try:
                chunk = next(self._chunks, None)
            except (OSError, ProtocolError) as exc:
                self.close()
                raise _lost(exc, self.url, self._timeout,
                            f'its streamed reply broke off after {self.read} line(s)') from exc
            if chunk is None:
                self._done = True
                if self._pending:
                    self.close()
                    raise CallOutcomeUnknownError(f'the service at {self.url} ended its streamed reply in the middle '
                                                  'of a line: the call may or may not have run to its end')
                _keep(_connections.__dict__.setdefault('pool', {}), self._base, self.conn)
                continue
            *whole, self._pending = (self._pending + chunk).split(b'\n')
            self._lines = whole[::-1]
        self.read += 1
        line = self._lines.pop()
        try:
            document = json.loads(line)
        except (ValueError, RecursionError) as exc:
            self.close()
            raise CodecError(f'line {self.read} of the streamed reply of {self.url} is not JSON ({exc}): '
                             f'{line[:200]!r}') from exc
        if not isinstance(document, dict):
            self.close()
            raise CodecError(f'line {self.read} of the streamed reply of {self.url} is not a JSON object: '
                             f'{line[:200]!r}')
        return document

    def finish(self) -> None:
        """Read the end of the reply, after its last line: its connection can take the next request."""
        try:
            extra = next(self, None)
        except (CallOutcomeUnknownError, CodecError):
            return  # closed: the next request opens another
        if extra is not None:  # a line after the last one: not a reply this client can trust again
            self.close()

    def close(self) -> None:
        """Stop reading: the connection is closed unless the reply was read to its end."""
        if not self._done:
            self._done = True
            self.conn.close()

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def health(url: str, timeout: float = 1.0) -> bool:
    """Whether the service at ``url`` answers its health check.

    A certificate that does not verify is not a No: it is ServiceUnavailableError, which waiting
    would not mend.
    """
    parts = urllib.parse.urlsplit(url)
    try:
        conn = Connection(f'{parts.scheme}://{parts.netloc}', timeout, timeout)
    except (OSError, ValueError) as exc:
        if type(exc).__name__ == 'SSLCertVerificationError':
            raise ServiceUnavailableError(f'the service at {url} cannot be trusted: {_why(exc)}') from exc
        return False
    try:
        conn.send(b'GET', '/health', b'', b'', timeout)
        return conn.reply()[0] == 200
    except (OSError, ProtocolError):
        return False
    finally:
        conn.close()


def _document(status: int, data: bytes, url: str) -> dict[str, Any]:
    """The JSON object of a lazyplug reply: a result (200) or an error; any other reply (a proxy's
    page, another service) is an error saying whether the call may have run."""
    try:
        document = json.loads(data)
    except RecursionError as exc:
        raise CodecError(f'the service at {url} answered {status}, but too deeply nested to parse here') from exc
    except ValueError:
        document = None
    if isinstance(document, dict) and ('result' in document if status == 200
                                       else isinstance(document.get('error'), dict)):
        return document
    answer = f'the service at {url} answered {status} with something that is not lazyplug JSON: {data[:200]!r}'
    if status >= 500 and status != 503:  # a proxy's "bad gateway" or "gateway timeout", say
        raise CallOutcomeUnknownError(f'{answer}; the call may or may not have run')
    raise ServiceUnavailableError(f'{answer}; the call did not run there')


reachability = Reachability(lambda base: health(base, float(config['connect_timeout'])))
"""The replicas this process could not reach lately, shared by all its clients."""


class ServiceClient:
    """Calls of one service (its replicas' URLs in turn) with an optional security key.

    ``lookup()``, if given, returns the service's URLs as published now, or None when it cannot
    tell; the client follows them (see the module's documentation).
    """

    def __init__(self, urls: list[str], security_key: str | None = None, label: str = 'the served module',
                 lookup: Callable[[], list[str] | None] | None = None) -> None:
        self.urls = list(urls)
        self.label = label
        self._headers = b'Content-Type: application/json\r\n'
        if security_key:
            self._headers += f'Security-Key: {security_key}\r\n'.encode()
        self._turn = itertools.count().__next__
        self._lookup = lookup
        self._looked = time.monotonic()
        self._looking = False

    def call(self, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """Call the served module with ``args`` and ``kw``."""
        return self._request('/call', {'args': list(args), 'kwargs': kw})

    def call_method(self, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """Call the method ``name`` of the served object."""
        return self._request('/method', {'method': name, 'args': list(args), 'kwargs': kw})

    def stream(self, args: tuple[Any, ...], kw: dict[str, Any]) -> Deltas:
        """Call the served module and yield its deltas as they arrive; returns its output.

        The request is sent when the first delta is asked for. Closing the generator early
        closes the connection: the server stops the module's generator.
        """
        body = self._body({'args': list(args), 'kwargs': kw, 'stream': True})
        # plugins wrapping lazyplug_service_call see the request sent and the reply begun; the deltas follow
        status, reply, url = self._through_plugins(None, partial(self._send, '/call', body))
        if not isinstance(reply, _Lines):
            document = self._result(status, reply, url)
            if document.get('streamed'):
                yield MARK  # it streamed no delta: the output is not one
            return document.get('result')
        return (yield from self._follow(reply))

    def call_queued(self, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """Call the served module for its output, and put its deltas on the caller's session stream
        queue as they arrive (a ``ServerModule(..., stream=True)`` called plainly)."""
        with _QueuedDeltas() as queued:
            deltas = self.stream(args, kw)
            try:
                while True:
                    delta = next(deltas)
                    if delta is not MARK:
                        queued.put(DEFAULT, delta)
            except StopIteration as end:
                return end.value

    def _body(self, request: dict[str, Any]) -> bytes:
        if len(_globals):
            request['globals'] = codec.encodable_items(_globals.snapshot())
        return codec.dumps(request, '')  # a value that cannot travel fails here, before sending

    def _send(self, path: str, body: bytes, headers: bytes) -> tuple[int, bytes | _Lines, str]:
        urls = self.urls
        if self._lookup is None:
            return self._send_to(urls, path, body, headers)
        self._look_up_later(urls)
        try:
            return self._send_to(urls, path, body, headers)
        except ServiceUnavailableError:
            moved = self._look_up_now(urls)  # none of them could be reached: has the service moved?
            if not moved:
                raise
        return self._send_to(moved, path, body, headers)

    def _send_to(self, urls: list[str], path: str, body: bytes, headers: bytes) -> tuple[int, bytes | _Lines, str]:
        """Send to ``urls`` in turn, reachable ones first; one that did not run the call (it cannot be
        reached, or it is busy) passes it to the next."""
        if not urls:
            raise ServiceUnavailableError(f'{self.label} has no replica to call (none is published now: they may be '
                                          'restarting); the call did not run')
        first = self._turn() % len(urls)
        order = urls[first:] + urls[:first]
        if reachability.any():
            order.sort(key=reachability.suspected)  # stable: the others keep their turn
        failures: list[ServiceUnavailableError] = []
        for index, url in enumerate(order):
            try:
                status, data = _post(url, path, body, headers)
            except ServiceUnavailableError as exc:
                reachability.unreachable(url)
                failures.append(exc)
                continue
            except CallTimeoutError:
                raise  # a slow call: its machine answers (see watch_peer)
            except CallOutcomeUnknownError:
                reachability.unreachable(url)
                raise
            reachability.reached(url)
            if status != 503 or index + 1 == len(order) or type(data) is _Lines or b'"ServiceBusy"' not in data:
                return status, data, url
        if len(failures) == 1:
            raise failures[0]
        reasons = '; '.join(str(exc).removesuffix('; the call did not run') for exc in failures)
        raise ServiceUnavailableError(f'none of the {len(failures)} replicas of {self.label} can be reached: '
                                      f'{reasons}; the call did not run') from failures[-1]

    def _look_up_later(self, urls: list[str]) -> None:
        """Start a look-up in the background if one is due."""
        every = 1.0 if reachability.any() and any(map(reachability.suspected, urls)) else REFRESH_EVERY
        now = time.monotonic()
        if self._looking or now - self._looked < every:
            return
        self._looking, self._looked = True, now
        threading.Thread(target=self._look_up, name='lazyplug-service-lookup', daemon=True).start()

    def _look_up(self) -> list[str] | None:
        """The URLs published now (which the client takes from now on), or None."""
        assert self._lookup is not None
        try:
            found = self._lookup()
        except Exception:  # a registry that cannot answer changes nothing: the known URLs stay
            found = None
        finally:
            self._looking = False
        if found:
            self.urls = list(found)
        return found

    def _look_up_now(self, tried: list[str]) -> list[str]:
        """The published URLs not among ``tried``."""
        self._looked = time.monotonic()
        return [url for url in self._look_up() or () if url not in tried]

    def _request(self, path: str, request: dict[str, Any]) -> Any:
        return self._through_plugins(request.get('method'), partial(self._exchange, path, self._body(request)))

    def _exchange(self, path: str, body: bytes, headers: bytes) -> Any:
        """Send one request and return the result of its reply (or raise its error)."""
        status, reply, url = self._send(path, body, headers)
        if isinstance(reply, _Lines):  # calls the module made queued deltas: they come first
            return exhaust(self._follow(reply))
        return self._result(status, reply, url).get('result')

    def _through_plugins(self, method: str | None, send: Callable[[bytes], Any]) -> Any:
        """``send(headers)``; through ``lazyplug_service_call`` when plugins wrap it (they add headers)."""
        if not _flags.service_call:
            return send(self._headers)
        added: dict[str, str] = {}  # what plugins wrapping lazyplug_service_call send along
        return _hookcalls.service_call(self.label, method, added,
                                       lambda: send(self._headers + plugin_headers.encode(added)))

    def _result(self, status: int, data: bytes, url: str) -> dict[str, Any]:
        """The decoded document of a plain reply (its globals taken in), or the error it reports."""
        return self._outcome(status, _document(status, data, url), url)

    def _outcome(self, status: int, document: dict[str, Any], url: str) -> dict[str, Any]:
        if 'error' not in document:
            try:
                reply: dict[str, Any] = codec.decode(document, '')
            except CodecError as exc:
                raise CodecError(f'the call of {url} ran, but its reply cannot be read here: {exc}') from exc
            returned = reply.get('globals')
            if returned:
                _globals.update(returned)
            return reply
        error = document['error']
        kind, message = str(error.get('type', 'Error')), str(error.get('message', ''))
        if status == 401:
            raise AuthenticationError(f'Authentication failed at {url}: {message}')
        if status == 503:
            raise ServiceBusyError(f'the service at {url} is busy, retry later: {message}')
        raise RemoteError(f'{error.get("module") or self.label} at {url} failed ({status}): {kind}: {message}',
                          remote_type=kind, remote_message=message, url=url)

    def _follow(self, lines: _Lines) -> Deltas:
        """The deltas of a streamed reply; its queued deltas go to the caller's session queues."""
        url = lines.url
        marked = False  # the MARK that opens the deltas was yielded
        with lines, _QueuedDeltas() as queued:
            for document in lines:
                if 'delta' in document:
                    if not marked:
                        marked = True
                        yield MARK
                    yield self._decoded(document['delta'], f'delta {lines.read}', url)
                elif 'queued' in document:
                    name = document.get('queue', DEFAULT)
                    queued.put(name if isinstance(name, str) and name else DEFAULT,
                               self._decoded(document['queued'], f'a queued delta (line {lines.read})', url))
                elif 'result' in document or isinstance(document.get('error'), dict):
                    if document.get('streamed') and not marked:
                        yield MARK
                    lines.finish()
                    # an error after lines: the reply's status was 200, the call's outcome is a failure
                    return self._outcome(500 if 'error' in document else 200, document, url).get('result')
                else:
                    raise CodecError(f'line {lines.read} of the streamed reply of {url} is not a lazyplug line '
                                     f'(delta, queued, result or error): {str(document)[:200]}')
        raise CallOutcomeUnknownError(f'the streamed reply of {url} ended without its result or error: the call may '
                                      'or may not have run to its end')

    @staticmethod
    def _decoded(data: Any, where: str, url: str) -> Any:
        try:
            return codec.decode(data, where)
        except CodecError as exc:
            raise CodecError(f'the streamed reply of {url} cannot be read here: {exc}') from exc


class _QueuedDeltas:
    """The entries a call opens in the caller's session stream queues, one per queue name, on its
    first delta there; ended when the call is over, however it ends."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[SessionQueue, Entry]] = {}

    def put(self, name: str, delta: Any) -> None:
        held = self.entries.get(name)
        if held is None:
            queue = queue_of(name)
            held = self.entries[name] = (queue, queue.open())
        held[0].put(held[1], delta)

    def __enter__(self) -> _QueuedDeltas:
        return self

    def __exit__(self, *exc: object) -> None:
        for queue, entry in self.entries.values():
            queue.end(entry)
