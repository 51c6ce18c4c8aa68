"""A throwaway redis-server, for tests and benchmarks: started on a free port of 127.0.0.1 (and a
unix socket) in a directory of the caller's, without persistence; ``stop()`` ends it and waits.

    server = RedisServer(find_redis_server(), tmpdir).start()
    try:
        ... server.url, server.unix_url ...
    finally:
        server.stop()
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

__all__ = ['RedisServer', 'find_redis_server', 'free_port']


def find_redis_server() -> str | None:
    """The redis-server executable: on PATH, or Debian's /usr/bin/redis-server."""
    found = shutil.which('redis-server')
    if found is None and os.access('/usr/bin/redis-server', os.X_OK):
        found = '/usr/bin/redis-server'
    return found


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server process; ``restart()`` brings it back, empty, on the same port and socket."""

    def __init__(self, executable: str, directory: str, *args: str) -> None:
        self.executable = executable
        self.directory = directory
        self.socket_path = os.path.join(directory, 'redis.sock')
        self.args = args
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's ``redis://`` URL (database 0)."""
        return f'redis://127.0.0.1:{self.port}/0'

    @property
    def unix_url(self) -> str:
        """The server's ``unix://`` URL (database 0)."""
        return f'unix://{self.socket_path}?db=0'

    def start(self) -> RedisServer:
        """Start the server (on a free port, or on its port of before) and wait until it answers."""
        for _ in range(5):  # a free port may be taken by another process before the server binds it
            port = self.port or free_port()
            if self._launch(port):
                self.port = port
                return self
            if self.port:
                break
        raise RuntimeError(f'redis-server did not start; its log:\n{self.log()}')

    def log(self) -> str:
        """The end of the server's log."""
        try:
            with open(os.path.join(self.directory, 'redis.log'), errors='replace') as f:
                return f.read()[-4000:]
        except OSError:
            return '(no log)'

    def _launch(self, port: int) -> bool:
        log = open(os.path.join(self.directory, 'redis.log'), 'ab')  # noqa: SIM115 - the child keeps it
        try:
            self.proc = subprocess.Popen(
                [self.executable, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                 '--dir', self.directory, '--unixsocket', self.socket_path, '--unixsocketperm', '700',
                 '--daemonize', 'no', '--loglevel', 'warning', *self.args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            try:
                with socket.create_connection(('127.0.0.1', port), timeout=1) as conn:
                    conn.sendall(b'PING\r\n')
                    reply = conn.recv(64)
                if reply.startswith((b'+PONG', b'-NOAUTH')):
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        return False

    def stop(self) -> None:
        """End the server (thawing it if frozen) and wait for it; stopping a stopped server does nothing."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a test may have frozen it
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (``start()`` brings it back, empty)."""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        """Stop the server and start it again, empty, on the same port and socket."""
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP the server: it keeps its connections but answers nothing (``thaw()`` resumes it)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)
