"""Calling a served module: one keep-alive HTTP connection per thread and server."""

from __future__ import annotations

import http.client
import itertools
import socket
import threading
import urllib.parse

from ..config import config
from ..context import globals as _globals
from ..errors import AuthenticationError, CodecError, RemoteError, ServiceUnavailableError
from . import codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['ServiceClient', 'health']

_connections = threading.local()  # {netloc: _Connection} of this thread


class _Connection:
    """A keep-alive HTTP/1.1 connection to a lazyplug server: one write per request, and only what
    a lazyplug reply holds is parsed (a status line and a Content-Length)."""

    def __init__(self, netloc: str, timeout: float | None = None) -> None:
        host, _, port = netloc.rpartition(':')
        self.sock = socket.create_connection((host.strip('[]'), int(port)),
                                             timeout=config['call_timeout'] if timeout is None else timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = f'Host: {netloc}\r\n'.encode()
        self.pending = b''

    def request(self, method: bytes, path: str, body: bytes, headers: bytes) -> tuple[int, bytes]:
        self.sock.sendall(b'%s %s HTTP/1.1\r\n%s%sContent-Length: %d\r\n\r\n%s'
                          % (method, path.encode(), self.head, headers, len(body), body))
        data = self.pending
        while b'\r\n\r\n' not in data:
            data += self._recv()
        head, _, data = data.partition(b'\r\n\r\n')
        lines = head.split(b'\r\n')
        status = int(lines[0].split(b' ', 2)[1])
        length = next((int(line.split(b':', 1)[1]) for line in lines[1:]
                       if line[:15].lower() == b'content-length:'), None)
        if length is None:
            raise http.client.HTTPException(f'a reply without Content-Length: {head[:200]!r}')
        while len(data) < length:
            data += self._recv()
        self.pending = data[length:]
        return status, data[:length]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionResetError('the server closed the connection')
        return chunk

    def close(self) -> None:
        self.sock.close()


def _drop(netloc: str) -> None:
    conn = _connections.__dict__.get('pool', {}).pop(netloc, None)
    if conn is not None:
        conn.close()


def _post(url: str, path: str, body: bytes, headers: bytes) -> tuple[int, bytes]:
    netloc = urllib.parse.urlsplit(url).netloc
    pool: dict[str, _Connection] = _connections.__dict__.setdefault('pool', {})
    for attempt in (0, 1):
        conn = pool.get(netloc)
        reused = conn is not None
        try:
            if conn is None:
                conn = pool[netloc] = _Connection(netloc)
            return conn.request(b'POST', path, body, headers)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            _drop(netloc)
            if attempt == 0 and reused and not isinstance(exc, ConnectionRefusedError):
                continue  # a kept-alive connection the server closed meanwhile: once more, afresh
            raise ServiceUnavailableError(f'the service at {url} does not answer: {type(exc).__name__}: {exc}') \
                from exc
    raise AssertionError('unreachable')


def health(url: str, timeout: float = 1.0) -> bool:
    """Whether the service at ``url`` answers its health check."""
    try:
        conn = _Connection(urllib.parse.urlsplit(url).netloc, timeout)
    except (OSError, ValueError):
        return False
    try:
        return conn.request(b'GET', '/health', b'', b'')[0] == 200
    except (OSError, ValueError, IndexError, http.client.HTTPException):
        return False
    finally:
        conn.close()


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

    def _send(self, path: str, body: bytes) -> tuple[int, bytes, str]:
        """Send to the replicas in turn; one that refuses the connection (gone, or being restarted by
        its launcher) never saw the request, so the next replica is asked instead."""
        first = self._turn()
        for attempt in range(len(self.urls)):
            url = self.urls[(first + attempt) % len(self.urls)]
            try:
                return (*_post(url, path, body, self._headers), url)
            except ServiceUnavailableError as exc:
                if attempt + 1 == len(self.urls) or not isinstance(exc.__cause__, ConnectionRefusedError):
                    raise
        raise AssertionError('unreachable')

    def _request(self, path: str, request: dict[str, Any]) -> Any:
        if len(_globals):
            request['globals'] = codec.encodable_items(_globals.snapshot())
        body = codec.dumps(request, 'an argument')  # a value that cannot travel fails here, before sending
        status, data, url = self._send(path, body)
        try:
            reply = codec.loads(data)
        except CodecError as exc:
            raise ServiceUnavailableError(f'the service at {url} answered {status} with something that is not '
                                          f'lazyplug JSON: {data[:200]!r}') from exc
        if status == 200:
            returned = reply.get('globals')
            if returned:
                _globals.update(returned)
            return reply.get('result')
        error = reply.get('error') or {}
        kind, message = error.get('type', 'Error'), error.get('message', '')
        if status == 401:
            raise AuthenticationError(f'Authentication failed at {url}: {message}')
        raise RemoteError(f'{error.get("module") or self.label} at {url} failed ({status}): {kind}: {message}',
                          remote_type=kind, remote_message=message, url=url)

