"""The ``spawn`` launcher: each replica a new ``python -m lazyplug.serve`` process."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

import cloudpickle

from lazyplug.errors import InvalidArgumentError, LaunchError
from lazyplug.launchers.base import BasicDeployment, url_host, wait_healthy
from lazyplug.serve.process import READY_PREFIX, ServeSpec, check_host


class SpawnLauncher:
    def __init__(self, start_timeout: float = 60.0, **unknown: Any) -> None:
        if unknown:
            raise InvalidArgumentError(f'the spawn launcher has no option {sorted(unknown)[0]!r} '
                                       '(options: start_timeout)')
        self.start_timeout = start_timeout

    def launch(self, spec: ServeSpec, replicas: int) -> BasicDeployment:
        check_host(spec.host, spec.security_key)  # before anything starts
        procs: list[subprocess.Popen[bytes]] = []
        first = spec.port
        try:
            urls = [self._start(spec, first + index if first else None, procs) for index in range(replicas)]
        except BaseException:
            _stop(procs)
            raise
        return BasicDeployment(urls, [p.pid for p in procs], lambda: _stop(procs), lambda: _wait(procs))

    def _start(self, spec: ServeSpec, port: int | None, procs: list[subprocess.Popen[bytes]]) -> str:
        spec.port = port  # replicas take the ports after the one asked for
        path = os.pathsep.join([*spec.pythonpath, *sys.path])  # the server imports what this process can
        proc = subprocess.Popen([sys.executable, '-m', 'lazyplug.serve'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env={**os.environ, 'PYTHONPATH': path}, start_new_session=True)
        procs.append(proc)
        assert proc.stdin is not None and proc.stdout is not None
        payload = cloudpickle.dumps(spec)
        proc.stdin.write(len(payload).to_bytes(8, 'big') + payload)
        proc.stdin.flush()  # kept open: the server exits when it closes
        deadline = time.monotonic() + self.start_timeout
        if not select.select([proc.stdout], [], [], self.start_timeout)[0]:
            raise LaunchError(f'the server did not start within {self.start_timeout} s')
        line = proc.stdout.readline().decode()
        if not line.startswith(READY_PREFIX):
            raise LaunchError(f'the server failed to start: {line!r}')
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # what it prints never fills the pipe
        url = f'{spec.scheme}://{url_host(spec.host)}:{int(line[len(READY_PREFIX):])}'
        wait_healthy(url, deadline, lambda: None if proc.poll() is None else 'exited', self.start_timeout,
                     lambda: '')
        return url


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _wait(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.wait()
