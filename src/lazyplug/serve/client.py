"""Calling a served module: one keep-alive HTTP/1.1 connection per thread and server, TLS for https.

A call runs at most once. A request is written again only when it cannot have run: its
connection was found closed (or unusable) before anything was written, or writing it failed (a
server cannot act on a request it did not receive whole), or it was refused at once by a
server that runs as many calls as it may (503). Once a request is written whole, a timeout or a
dropped or unreadable reply is :class:`~lazyplug.errors.CallOutcomeUnknownError` (or
:class:`~lazyplug.errors.CallTimeoutError`): the call may or may not have run, and it is not
sent again.

The connections are :class:`~lazyplug.serve.connection.Connection` (HTTP/1.1, TLS for https).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import urllib.parse

from .. import _hookcalls
from ..config import config
from ..context import globals as _globals
from ..errors import (
    AuthenticationError,
    CallOutcomeUnknownError,
    CallTimeoutError,
    CodecError,
    InvalidArgumentError,
    RemoteError,
    ServiceBusyError,
    ServiceUnavailableError,
)
from ..host import host
from . import codec
from .connection import Connection, ProtocolError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['ServiceClient', 'health']

_connections = threading.local()  # {scheme://netloc: Connection} of this thread
_flags = host.flags
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED = frozenset({'host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'keep-alive',
                       'security-key', 'te', 'trailer', 'upgrade', 'expect'})
"""Headers lazyplug sends itself or that frame the request: a plugin may not add them."""


def _header_lines(headers: dict[str, str]) -> bytes:
    """The header lines of the headers plugins added to a call, checked: a bad one would break or forge the request."""
    lines = []
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name) or name.lower() in _RESERVED:
            raise InvalidArgumentError(f'a plugin wrapping lazyplug_service_call added the header {name!r}: a header '
                                       'name is an HTTP token (letters, digits and !#$%&\'*+-.^_`|~) other than '
                                       f'{", ".join(sorted(_RESERVED))}; the call did not run')
        if not isinstance(value, str) or not value.isprintable() or not _latin1(value):
            raise InvalidArgumentError(f'a plugin wrapping lazyplug_service_call gave the header {name!r} the value '
                                       f'{value!r}: a header value is Latin-1 text without control characters; the '
                                       'call did not run')
        lines.append(f'{name}: {value}\r\n'.encode('latin-1'))
    return b''.join(lines)


def _latin1(text: str) -> bool:
    try:
        text.encode('latin-1')
    except UnicodeEncodeError:
        return False
    return True


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
    for attempt in (0, 1):
        conn = pool.pop(base, None)
        if conn is not None and not conn.usable():
            conn.close()
            conn = None
        reused = conn is not None
        try:
            if conn is None:
                conn = Connection(base, timeout)
            conn.send(b'POST', path, body, headers, timeout)
        except (OSError, ValueError) as exc:
            if conn is not None:
                conn.close()
            if reused and attempt == 0:
                continue  # closed by the server as it was written: the request is not whole there, so once more
            raise ServiceUnavailableError(f'the service at {url} cannot be reached ({_why(exc)}); the call did not '
                                          'run') from exc
        try:
            status, data = conn.reply()
        except (OSError, ProtocolError) as exc:
            conn.close()
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
        conn = Connection(f'{parts.scheme}://{parts.netloc}', timeout)
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


class ServiceClient:
    """Calls of one service (its replicas' URLs in turn) with an optional security key."""

    def __init__(self, urls: list[str], security_key: str | None = None, label: str = 'the served module') -> None:
        self.urls = list(urls)
        self.label = label
        self._headers = b'Content-Type: application/json\r\n'
        if security_key:
            self._headers += f'Security-Key: {security_key}\r\n'.encode()
        self._turn = itertools.count().__next__

    def call(self, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """Call the served module with ``args`` and ``kw``."""
        return self._request('/call', {'args': list(args), 'kwargs': kw})

    def call_method(self, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """Call the method ``name`` of the served object."""
        return self._request('/method', {'method': name, 'args': list(args), 'kwargs': kw})

    def _send(self, path: str, body: bytes, headers: bytes) -> tuple[int, bytes, str]:
        """Send to the replicas in turn; one that did not run the call (it cannot be reached, or
        it is busy) passes it to the next."""
        first = self._turn()
        for attempt in range(len(self.urls)):
            url = self.urls[(first + attempt) % len(self.urls)]
            last = attempt + 1 == len(self.urls)
            try:
                status, data = _post(url, path, body, headers)
            except ServiceUnavailableError:
                if last:
                    raise
                continue
            if status != 503 or last or b'"ServiceBusy"' not in data:
                return status, data, url
        raise AssertionError('unreachable')

    def _request(self, path: str, request: dict[str, Any]) -> Any:
        if len(_globals):
            request['globals'] = codec.encodable_items(_globals.snapshot())
        body = codec.dumps(request, '')  # a value that cannot travel fails here, before sending
        if not _flags.service_call:
            return self._exchange(path, body, self._headers)
        headers: dict[str, str] = {}  # what plugins wrapping lazyplug_service_call send along
        return _hookcalls.service_call(self.label, request.get('method'), headers,
                                       lambda: self._exchange(path, body, self._headers + _header_lines(headers)))

    def _exchange(self, path: str, body: bytes, headers: bytes) -> Any:
        """Send one request and return the result of its reply (or raise its error)."""
        status, data, url = self._send(path, body, headers)
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
