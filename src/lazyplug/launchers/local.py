"""The ``local`` launcher: one child process per replica, on this machine.

Each child is ``python -m lazyplug.serve`` in a process group of its own, given what to serve
through its standard input, which stays open: when this process exits or dies, the pipe closes
and the child exits too. ``stop()`` ends the child's whole process group.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time

from ..config import config
from ..errors import InvalidArgumentError, LaunchError
from ..serve.process import READY_PREFIX, check_host
from .base import Deployment, wait_healthy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..serve.process import ServeSpec

__all__ = ['LocalLauncher']

_OPTIONS = frozenset({'start_timeout'})


class _Child:
    """One server process and what it printed lately."""

    def __init__(self, payload: bytes, url_host: str, pythonpath: list[str]) -> None:
        # the child must import what this process can, before it unpickles what it serves
        path = os.pathsep.join([*pythonpath, *(entry or os.getcwd() for entry in sys.path)])
        env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'PYTHONPATH': path}
        self.proc = subprocess.Popen([sys.executable, '-m', 'lazyplug.serve'], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.output: collections.deque[str] = collections.deque(maxlen=40)
        self.port: int | None = None
        self._url_host = url_host
        threading.Thread(target=self._drain, name=f'lazyplug-child-{self.proc.pid}', daemon=True).start()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(len(payload).to_bytes(8, 'big') + payload)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child died at once: readiness reports its output

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode('utf-8', 'replace').rstrip()
            if line.startswith(READY_PREFIX) and self.port is None:
                self.port = int(line[len(READY_PREFIX):])
            else:
                self.output.append(line)

    @property
    def url(self) -> str:
        return f'http://{self._url_host}:{self.port}'

    def why_gone(self) -> str | None:
        code = self.proc.poll()
        return None if code is None else f'exited with status {code}'

    def wait_ready(self, deadline: float, timeout: float) -> None:
        while self.port is None:
            gone = self.why_gone()
            if gone is not None:
                raise LaunchError(f'the server process {gone} before listening; its last output:\n'
                                  f'{self.last_output()}')
            if time.monotonic() > deadline:
                raise LaunchError(f'the server process did not start listening within {timeout:g} s (the '
                                  f'start_timeout setting); its last output:\n{self.last_output()}')
            time.sleep(0.005)
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
        # a child already reaped is not signalled: its pid (and group id) may belong to another by now
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

    def __init__(self, options: dict[str, Any]) -> None:
        unknown = set(options) - _OPTIONS
        if unknown:
            raise InvalidArgumentError(f'the local launcher has no option {sorted(unknown)[0]!r} '
                                       f'(options: {", ".join(sorted(_OPTIONS))})')
        self.start_timeout = float(options.get('start_timeout', config['start_timeout']))

    def launch(self, spec: ServeSpec, replicas: int) -> Deployment:
        import cloudpickle
        check_host(spec.host, spec.security_key)
        url_host = '127.0.0.1' if spec.host in ('0.0.0.0', '', 'localhost') else spec.host
        children: list[_Child] = []
        first_port = spec.port
        try:
            for index in range(replicas):
                spec.port = first_port + index if first_port else None  # replicas take the next ports
                children.append(_Child(cloudpickle.dumps(spec), url_host, spec.pythonpath))
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

        return Deployment([c.url for c in children], [c.proc.pid for c in children], stop, wait)
