"""Helpers of the serving tests: raw HTTP requests, and a real TCP server that speaks HTTP as a test scripts it."""

from __future__ import annotations

import http.client
import json
import socket
import threading


def raw(url, method, path, body=b'', headers=None):
    """The status and parsed JSON body of one request sent with http.client (a client other than lazyplug's)."""
    conn = http.client.HTTPConnection(url.split('//', 1)[1], timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b'null')
    finally:
        conn.close()


def reply(result, status=200, headers=b''):
    """A whole HTTP/1.1 reply whose JSON body carries ``result``, framed by Content-Length."""
    body = json.dumps({'result': result, 'globals': {}}).encode()
    return b'HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s' % (
        status, headers, len(body), body)


class ScriptedServer:
    """A real TCP server on loopback: it reads each request whole (head, then a Content-Length body)
    and answers with ``answer(number)`` (numbered from 1 across connections): bytes to send, or
    None to close the connection without answering. ``close_after`` (bytes sent) ends the
    connection after answering."""

    def __init__(self, answer, close_after=False):
        self.answer = answer
        self.close_after = close_after
        self.requests = []  # the raw heads of the requests read whole, in order
        self.received = []  # everything each connection sent, one bytes per connection
        self.connections = 0
        self._listener = socket.create_server(('127.0.0.1', 0))
        self._threads = []
        self._open = []
        self._lock = threading.Lock()
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def port(self):
        return self._listener.getsockname()[1]

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def _accept(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.connections += 1
                self._open.append(conn)
                self.received.append(b'')
                index = len(self.received) - 1
            thread = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn, index):
        buffer = b''
        try:
            while True:
                while b'\r\n\r\n' not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                    self.received[index] += chunk
                head, _, buffer = buffer.partition(b'\r\n\r\n')
                length = next((int(line.split(b':')[1]) for line in head.split(b'\r\n')
                               if line.lower().startswith(b'content-length:')), 0)
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                    self.received[index] += chunk
                buffer = buffer[length:]
                with self._lock:
                    self.requests.append(head)
                    number = len(self.requests)
                answer = self.answer(number)
                if answer is None:
                    return
                conn.sendall(answer)
                if self.close_after:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for conn in self._open:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(10)
