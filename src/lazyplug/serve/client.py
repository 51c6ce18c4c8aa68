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
from . import codec
from .connection import Connection, ProtocolError
from .reachability import Reachability

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['REFRESH_EVERY', 'ServiceClient', 'health', 'reachability']

REFRESH_EVERY = 5.0
"""Seconds between two look-ups of a service's replicas by a client in use (1 s while one is unreachable)."""

_connections = threading.local()  # {scheme://netloc: Connection} of this thread


def _why(exc: BaseException) -> str:
    if type(exc).__name__ == 'SSLCertVerificationError':
        return (f'its TLS certificate does not verify ({getattr(exc, "verify_message", exc)}): set the ca_file '
                'setting (LAZYPLUG_CA_FILE) to the PEM file of the authority that signed it')
    return f'{type(exc).__name__}: {exc}'


def _post(url: str, path: str, body: bytes, headers: bytes) -> tuple[int, bytes]:
    """Send one request to ``url``; see the module's documentation for when it is sent again."""
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
            status, data = conn.reply()
        except (OSError, ProtocolError) as exc:
            conn.close()
            if isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT:  # the kernel's verdict: see watch_peer
                raise CallOutcomeUnknownError(f'the machine of the service at {url} went silent during the call '
                                              f'(nothing acknowledged for {connect_timeout:g} s, the connect_timeout '
                                              'setting): the call may or may not have run') from exc
            if isinstance(exc, TimeoutError):
                raise CallTimeoutError(f'the service at {url} did not answer within {timeout:g} s '
                                       '(the call_timeout setting): the call may or may not have run, and may still '
                                       'be running') from exc
            raise CallOutcomeUnknownError(f'the service at {url} took the call but its reply was lost ({_why(exc)}): '
                                          'the call may or may not have run') from exc
        if conn.reusable:
            pool[base] = conn
        else:
            conn.close()
        return status, data
    raise AssertionError('unreachable')


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

    def _send(self, path: str, body: bytes) -> tuple[int, bytes, str]:
        urls = self.urls
        if self._lookup is None:
            return self._send_to(urls, path, body)
        self._look_up_later(urls)
        try:
            return self._send_to(urls, path, body)
        except ServiceUnavailableError:
            moved = self._look_up_now(urls)  # none of them could be reached: has the service moved?
            if not moved:
                raise
        return self._send_to(moved, path, body)

    def _send_to(self, urls: list[str], path: str, body: bytes) -> tuple[int, bytes, str]:
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
                status, data = _post(url, path, body, self._headers)
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
            if status != 503 or index + 1 == len(order) or b'"ServiceBusy"' not in data:
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
        if len(_globals):
            request['globals'] = codec.encodable_items(_globals.snapshot())
        body = codec.dumps(request, '')  # a value that cannot travel fails here, before sending
        status, data, url = self._send(path, body)
        document = _document(status, data, url)
        if status == 200:
            try:
                reply = codec.decode(document, '')
            except CodecError as exc:
                raise CodecError(f'the call of {url} ran, but its reply cannot be read here: {exc}') from exc
            returned = reply.get('globals')
            if returned:
                _globals.update(returned)
            return reply.get('result')
        error = document['error']
        kind, message = str(error.get('type', 'Error')), str(error.get('message', ''))
        if status == 401:
            raise AuthenticationError(f'Authentication failed at {url}: {message}')
        if status == 503:
            raise ServiceBusyError(f'the service at {url} is busy, retry later: {message}')
        raise RemoteError(f'{error.get("module") or self.label} at {url} failed ({status}): {kind}: {message}',
                          remote_type=kind, remote_message=message, url=url)
