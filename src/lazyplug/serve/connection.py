"""One keep-alive HTTP/1.1 connection to a server, over TLS for https, and its reply reader.

The reader is lazyplug's own, because it costs about half the client CPU of ``http.client`` per
call (which parses every reply's head with ``email`` and writes a request in two packets;
``benchmarks/bench_serve.py`` measures both). It reads what HTTP/1.1 servers and proxies send:
replies framed by Content-Length, chunked, or by the end of the connection; ``1xx`` interim
replies (``100 Continue``, ``103 Early Hints``) before the final one; ``Connection: close`` and
``Keep-Alive: timeout=N``. A reply whose head is larger than 64 KiB, or is not HTTP/1.x, is a
:class:`ProtocolError`.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.parse

from ..config import config
from ..errors import LazyplugError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator

__all__ = ['Connection', 'ProtocolError', 'chunked', 'tls_context', 'watch_peer']

_HEAD_LIMIT = 65536  # bytes of a reply's head (http.client allows as much per line)
_RECV = 262144
_tls_contexts: dict[str, ssl.SSLContext] = {}
_KEEP_ALIVE_TIMEOUT = re.compile(rb'timeout\s*=\s*(\d+)')


class ProtocolError(LazyplugError, ValueError):
    """A reply that is not HTTP/1.x as this client reads it."""


def tls_context() -> ssl.SSLContext:
    """A verifying TLS context: the system's authorities, or those of the ``ca_file`` setting."""
    ca_file = str(config['ca_file'])
    context = _tls_contexts.get(ca_file)
    if context is None:
        import ssl
        context = _tls_contexts[ca_file] = ssl.create_default_context(cafile=ca_file or None)
    return context


class Connection:
    """A keep-alive HTTP/1.1 connection: a request is one write; a reply is read from one buffer.

    Connecting and the TLS handshake wait at most ``connect_timeout`` seconds, reading and
    writing ``timeout``. A server machine that stays silent for ``connect_timeout`` (nothing sent
    is acknowledged, or, while a reply is awaited, keep-alive probes go unanswered) ends the
    connection with ``OSError(ETIMEDOUT)``: see :func:`watch_peer`.
    """

    def __init__(self, base: str, timeout: float, connect_timeout: float) -> None:
        parts = urllib.parse.urlsplit(base)
        host = parts.hostname or ''
        tls = parts.scheme == 'https'
        sock = socket.create_connection((host, parts.port or (443 if tls else 80)),
                                        timeout=min(connect_timeout, timeout))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            watch_peer(sock, connect_timeout)
            if tls:
                sock = tls_context().wrap_socket(sock, server_hostname=host)
            sock.settimeout(timeout)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.timeout = timeout
        self.head = f'Host: {parts.netloc}\r\n'.encode()
        self.buffer = bytearray()
        self.reusable = True
        self.expires = float('inf')  # when the server may close it while idle (Keep-Alive: timeout=N)

    def usable(self) -> bool:
        """Whether this idle connection can take a request: not expired, nothing unread, and the
        server has neither closed it nor written to it (any of those: nothing is sent on it)."""
        if self.buffer or time.monotonic() >= self.expires:
            return False
        pending = getattr(self.sock, 'pending', None)  # bytes TLS decrypted and holds
        if pending is not None and pending():
            return False
        return not _readable(self.sock)

    def send(self, method: bytes, path: str, body: bytes, headers: bytes, timeout: float) -> None:
        """Write one request, in one write; ``headers`` are whole lines; ``timeout`` applies from now on."""
        if timeout != self.timeout:  # the setting changed since the connection opened
            self.sock.settimeout(timeout)
            self.timeout = timeout
        self.sock.sendall(b'%s %s HTTP/1.1\r\n%s%sContent-Length: %d\r\n\r\n%s'
                          % (method, path.encode(), self.head, headers, len(body), body))

    def reply(self) -> tuple[int, bytes]:
        """Read the final reply to the request sent: its status and body (bytes)."""
        status, fields = self.read_head()
        return status, self.read_body(status, fields)

    def read_head(self) -> tuple[int, dict[bytes, bytes]]:
        """Read the head of the final reply to the request sent: its status and header fields
        (names in lower case); its body is read next (:meth:`read_body` or :meth:`chunks`)."""
        while True:
            version, status, fields = self._head()
            if not 100 <= status < 200 or status == 101:
                break  # 1xx interim replies (100 Continue, 103 Early Hints) precede the final one
        connection = fields.get(b'connection', b'').lower()
        self.reusable = b'close' not in connection and (version == b'HTTP/1.1' or b'keep-alive' in connection)
        keep_alive = _KEEP_ALIVE_TIMEOUT.search(fields.get(b'keep-alive', b''))
        if keep_alive:  # reuse it for a second less than the server keeps it
            self.expires = time.monotonic() + int(keep_alive[1]) - 1
        return status, fields

    def read_body(self, status: int, fields: dict[bytes, bytes]) -> bytes:
        """Read the whole body of the reply whose head :meth:`read_head` read."""
        if status in (204, 304):
            return b''
        coding = fields.get(b'transfer-encoding')
        if coding is not None:
            if chunked(fields):
                return b''.join(self.chunks())
            return self._to_close()
        length = fields.get(b'content-length')
        if length is None:
            return self._to_close()
        if not length.isdigit():
            raise ProtocolError(f'a reply with Content-Length {length[:40]!r}')
        return self._take(int(length))

    def _head(self) -> tuple[bytes, int, dict[bytes, bytes]]:
        lines = self._through(b'\r\n\r\n').split(b'\r\n')
        version, _, rest = lines[0].partition(b' ')
        code = rest[:3]
        if version not in (b'HTTP/1.1', b'HTTP/1.0') or len(code) != 3 or not code.isdigit():
            raise ProtocolError(f'a reply that is not HTTP/1.x: {lines[0][:80]!r}')
        fields: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b':')
            if not colon:
                raise ProtocolError(f'a malformed header line {line[:80]!r}')
            name = name.strip().lower()
            if name in fields and name == b'content-length' and fields[name] != value.strip():
                raise ProtocolError('a reply with two different Content-Lengths')
            fields[name] = value.strip() if name not in fields else fields[name] + b', ' + value.strip()
        return version, int(code), fields

    def chunks(self) -> Iterator[bytes]:
        """The chunks of a chunked body, each as soon as it has arrived whole."""
        while True:
            size_line = self._through(b'\r\n')
            size = size_line.split(b';', 1)[0].strip()
            if not size or len(size) > 16 or size.strip(b'0123456789abcdefABCDEF'):
                raise ProtocolError(f'a malformed chunk size {size_line[:40]!r}')
            if int(size, 16) == 0:
                while self._through(b'\r\n'):  # trailer fields, up to the empty line
                    pass
                return
            yield self._take(int(size, 16))
            if self._through(b'\r\n'):
                raise ProtocolError('a chunk longer than its size')

    def _through(self, end: bytes) -> bytes:
        """What comes before ``end`` (a head, a line), taken from the buffer with ``end``."""
        at = self.buffer.find(end)
        while at < 0:
            if len(self.buffer) > _HEAD_LIMIT:
                raise ProtocolError(f'a reply head or line longer than {_HEAD_LIMIT} bytes')
            self._fill()
            at = self.buffer.find(end)
        text = bytes(self.buffer[:at])
        del self.buffer[:at + len(end)]
        return text

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _to_close(self) -> bytes:
        self.reusable = False
        while True:
            chunk = self.sock.recv(_RECV)
            if not chunk:
                data = bytes(self.buffer)
                self.buffer.clear()
                return data
            self.buffer += chunk

    def _fill(self) -> None:
        chunk = self.sock.recv(_RECV)
        if not chunk:
            raise ConnectionResetError('the server closed the connection')
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def chunked(fields: dict[bytes, bytes]) -> bool:
    """Whether a reply with these header fields has a chunked body."""
    return fields.get(b'transfer-encoding', b'').lower().rsplit(b',', 1)[-1].strip() == b'chunked'


def watch_peer(sock: socket.socket, seconds: float) -> None:
    """Have the kernel end ``sock`` once its peer's machine has been silent for about ``seconds``.

    * Data sent and not acknowledged within ``seconds`` ends it (``TCP_USER_TIMEOUT``).
    * Idle, it is probed every second after ``seconds`` without traffic (TCP keep-alive), so a
      call waiting for a long reply, or a pooled connection, learns that the machine went silent.

    Either way the next read or write fails with ``OSError(ETIMEDOUT)``, and a pooled connection
    polls readable (so :meth:`Connection.usable` refuses it). A live machine acknowledges at once,
    however long its server takes to answer. Where the options do not exist (not Linux), nothing
    changes.
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (('TCP_KEEPIDLE', max(1, round(seconds))), ('TCP_KEEPINTVL', 1),
                        ('TCP_KEEPCNT', max(1, round(seconds))), ('TCP_USER_TIMEOUT', max(1, int(seconds * 1000)))):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def _readable(sock: socket.socket) -> bool:
    """Whether ``sock`` has something to read (or has ended) right now."""
    import select
    if hasattr(select, 'poll'):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])
