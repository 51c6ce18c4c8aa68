"""The ``thread`` launcher: each replica's server runs in a thread of this process (tests, notebooks)."""

from __future__ import annotations

import os
import threading
import time
from functools import partial

from ..config import config
from ..errors import InvalidArgumentError
from ..serve.process import bind, check_host, close_log, serve
from .base import BasicDeployment, url_host, wait_healthy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..serve.process import ServeSpec

__all__ = ['ThreadLauncher']


class ThreadLauncher:
    """Serve each replica from a thread of this process, over real HTTP on loopback."""

    name = 'thread'

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - {'start_timeout'}
        if unknown:
            raise InvalidArgumentError(f'the thread launcher has no option {sorted(unknown)[0]!r} '
                                       '(options: start_timeout)')
        self.start_timeout = float(options.get('start_timeout', config['start_timeout']))

    def launch(self, spec: ServeSpec, replicas: int) -> BasicDeployment:
        check_host(spec.host, spec.security_key)
        servers, threads, urls = [], [], []
        try:
            for index in range(replicas):
                sock = bind(spec.host, spec.port + index if spec.port else None)
                server = serve(spec, sock)
                thread = threading.Thread(target=server.run, kwargs={'sockets': [sock]}, daemon=True,
                                          name=f'lazyplug-serve-{sock.getsockname()[1]}')
                thread.start()
                servers.append((server, sock))
                threads.append(thread)
                urls.append(f'{spec.scheme}://{url_host(spec.host)}:{sock.getsockname()[1]}')
            deadline = time.monotonic() + self.start_timeout
            for url, thread in zip(urls, threads, strict=True):
                wait_healthy(url, deadline, partial(_why_gone, thread), self.start_timeout,
                             lambda: '(the server thread printed nothing)')
        except BaseException:
            _stop(servers, threads)
            raise
        def wait() -> None:
            for thread in threads:
                thread.join()

        return BasicDeployment(urls, [os.getpid()] * replicas, lambda: _stop(servers, threads), wait)


def _why_gone(thread: threading.Thread) -> str | None:
    return None if thread.is_alive() else 'stopped'


def _stop(servers: list[Any], threads: list[threading.Thread]) -> None:
    for server, _ in servers:
        server.should_exit = True
    for thread in threads:
        thread.join(10)
    for server, sock in servers:
        sock.close()
        close_log(server)
