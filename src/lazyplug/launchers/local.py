"""The ``local`` launcher: one child process per replica, on this machine.

Each child is ``python -m lazyplug.serve`` in a process group of its own, given what to serve
through its standard input, which stays open: when this process exits or dies, the pipe closes
and the child exits too. ``stop()`` ends the child's whole process group.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from ..config import config
from ..errors import InvalidArgumentError, LaunchError
from ..serve.process import READY_PREFIX, check_host
from .base import BasicDeployment, url_host, wait_healthy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..serve.process import ServeSpec

__all__ = ['LocalLauncher']

_OPTIONS = frozenset({'start_timeout'})


class _Forked:
    """A server forked by the fork server: Popen's interface, with its exit seen as the end of its
    output (the fork server, not this process, is its parent)."""

    def __init__(self, pid: int, stdin: Any, stdout: Any) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.ended = threading.Event()  # set by _Child's drain thread at the end of the output

    def poll(self) -> int | None:
        return None if not self.ended.is_set() else -1

    def wait(self, timeout: float | None = None) -> int:
        if not self.ended.wait(timeout):
            raise subprocess.TimeoutExpired('lazyplug.serve', timeout or 0)
        return -1


class _ForkServer:
    """The process that forks this process's servers (see lazyplug.serve.forkserver)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, 'PYTHONPATH': _import_path([])}
        self.proc = subprocess.Popen([sys.executable, '-m', 'lazyplug.serve', '--forkserver', str(theirs.fileno())],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     pass_fds=(theirs.fileno(),), start_new_session=True, env=env)
        theirs.close()
        self.control = ours
        self.lock = threading.Lock()

    def spawn(self, pythonpath: list[str]) -> _Forked | None:
        """A new server process, or None when the fork server cannot make one."""
        child_in, our_in = os.pipe()
        our_out, child_out = os.pipe()
        setup = json.dumps({'cwd': os.getcwd(), 'env': {**os.environ, 'PYTHONUNBUFFERED': '1'},
                            'path': _import_path(pythonpath).split(os.pathsep)}).encode()
        try:
            with self.lock:
                socket.send_fds(self.control, [setup], [child_in, child_out])
                answer = self.control.recv(8)
        except OSError:
            answer = b''
        finally:
            os.close(child_in)
            os.close(child_out)
        if len(answer) != 8:
            os.close(our_in)
            os.close(our_out)
            return None
        return _Forked(struct.unpack('>q', answer)[0], os.fdopen(our_in, 'wb'), os.fdopen(our_out, 'rb'))

    def close(self) -> None:
        self.control.close()
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the fork server exits at the end of its input
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_fork_server: _ForkServer | None = None
_fork_server_lock = threading.Lock()


def _get_fork_server() -> _ForkServer | None:
    global _fork_server
    if not hasattr(socket, 'send_fds') or not hasattr(os, 'fork'):
        return None
    with _fork_server_lock:
        if _fork_server is None or _fork_server.proc.poll() is not None:
            _fork_server = _ForkServer()
        return _fork_server


def fork_server_pid() -> int | None:
    """The fork server's process id, if this process started one."""
    return _fork_server.proc.pid if _fork_server is not None else None


def _close_fork_server() -> None:
    global _fork_server
    with _fork_server_lock:
        server, _fork_server = _fork_server, None
    if server is not None:
        server.close()


def _forget_fork_server_after_fork() -> None:
    global _fork_server
    _fork_server = None  # it serves the parent; a forked child starts its own if it needs one


atexit.register(_close_fork_server)
os.register_at_fork(after_in_child=_forget_fork_server_after_fork)


def _import_path(extra: list[str]) -> str:
    return os.pathsep.join([*extra, *(entry or os.getcwd() for entry in sys.path)])


class _Child:
    """One server process and what it printed lately."""

    def __init__(self, payload: bytes, url_base: str, pythonpath: list[str]) -> None:
        fork_server = _get_fork_server()
        forked = fork_server.spawn(pythonpath) if fork_server is not None else None
        if forked is not None:
            self.proc: Any = forked
        else:
            # the child must import what this process can, before it unpickles what it serves
            env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'PYTHONPATH': _import_path(pythonpath)}
            self.proc = subprocess.Popen([sys.executable, '-m', 'lazyplug.serve'], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                         env=env)
        self.output: collections.deque[str] = collections.deque(maxlen=40)
        self.port: int | None = None
        self.said = threading.Event()  # set once the port is known, or the output has ended
        self._url_base = url_base  # scheme://host, the port to come
        threading.Thread(target=self._drain, name=f'lazyplug-child-{self.proc.pid}', daemon=True).start()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(len(payload).to_bytes(8, 'big') + payload)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child died at once: readiness reports its output

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        try:
            for raw in self.proc.stdout:
                line = raw.decode('utf-8', 'replace').rstrip()
                if line.startswith(READY_PREFIX) and self.port is None:
                    self.port = int(line[len(READY_PREFIX):])
                    self.said.set()
                else:
                    self.output.append(line)
        finally:
            if isinstance(self.proc, _Forked):
                self.proc.ended.set()
            self.said.set()

    @property
    def url(self) -> str:
        return f'{self._url_base}:{self.port}'

    def why_gone(self) -> str | None:
        code = self.proc.poll()
        if code is None:
            return None
        return 'exited' if isinstance(self.proc, _Forked) else f'exited with status {code}'

    def wait_ready(self, deadline: float, timeout: float) -> None:
        if not self.said.wait(max(0.0, deadline - time.monotonic())):
            raise LaunchError(f'the server process did not start listening within {timeout:g} s (the '
                              f'start_timeout setting); its last output:\n{self.last_output()}')
        if self.port is None:  # its output ended: it exited, or is exiting
            try:
                self.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
            raise LaunchError(f'the server process {self.why_gone() or "closed its output"} before listening; '
                              f'its last output:\n{self.last_output()}')
        wait_healthy(self.url, deadline, self.why_gone, timeout, self.last_output)

    def last_output(self) -> str:
        time.sleep(0.05)  # let the drain thread catch the last lines
        return '\n'.join(self.output) or '(nothing)'

    def stop(self, grace: float = 5.0) -> None:
        proc = self.proc
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        # a child already gone is not signalled: its pid (and group id) may belong to another by now
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class LocalLauncher:
    """Start each replica as a child process (``python -m lazyplug.serve``) and wait until it answers."""

    name = 'local'

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - _OPTIONS
        if unknown:
            raise InvalidArgumentError(f'the local launcher has no option {sorted(unknown)[0]!r} '
                                       f'(options: {", ".join(sorted(_OPTIONS))})')
        self.start_timeout = float(options.get('start_timeout', config['start_timeout']))

    def launch(self, spec: ServeSpec, replicas: int) -> BasicDeployment:
        import cloudpickle
        check_host(spec.host, spec.security_key)
        base = f'{spec.scheme}://{url_host(spec.host)}'  # what callers, on other machines too, reach it at
        children: list[_Child] = []
        first_port = spec.port
        try:
            for index in range(replicas):
                spec.port = first_port + index if first_port else None  # replicas take the next ports
                children.append(_Child(cloudpickle.dumps(spec), base, spec.pythonpath))
            deadline = time.monotonic() + self.start_timeout
            for child in children:
                child.wait_ready(deadline, self.start_timeout)
        except BaseException:
            for child in children:
                child.stop(grace=1.0)
            raise

        def stop() -> None:
            for child in children:
                child.stop()

        def wait() -> None:
            for child in children:
                child.proc.wait()

        return BasicDeployment([c.url for c in children], [c.proc.pid for c in children], stop, wait)
