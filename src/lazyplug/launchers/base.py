"""What a launcher returns, and what every launcher shares."""

from __future__ import annotations

import atexit
import threading
import time

from ..errors import LaunchError
from ..serve.client import health

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ['Deployment', 'wait_healthy']

_live: set[Deployment] = set()
_live_lock = threading.Lock()


class Deployment:
    """A started service: ``urls`` (one per replica), ``pids`` (the serving processes), ``stop()``.

    Every deployment not stopped by its owner is stopped when this interpreter exits.
    """

    def __init__(self, urls: list[str], pids: list[int], stop: Callable[[], None],
                 wait: Callable[[], None]) -> None:
        self.urls = urls
        self.pids = pids
        self._stop = stop
        self._wait = wait
        self.stopped = False
        with _live_lock:
            _live.add(self)

    def stop(self) -> None:
        """Stop every replica (idempotent)."""
        if self.stopped:
            return
        self.stopped = True
        with _live_lock:
            _live.discard(self)
        self._stop()

    def wait(self) -> None:
        """Block until every replica has ended."""
        self._wait()

    def __repr__(self) -> str:
        state = 'stopped' if self.stopped else 'running'
        return f'<Deployment {", ".join(self.urls)} ({state})>'


def _stop_all() -> None:
    with _live_lock:
        running = list(_live)
    for deployment in running:
        deployment.stop()


atexit.register(_stop_all)


def wait_healthy(url: str, deadline: float, alive: Callable[[], str | None], timeout: float,
                 last_output: Callable[[], str]) -> None:
    """Poll ``url``'s health until it answers; ``alive()`` returns why the server is gone, or None."""
    pause = 0.005
    while True:
        gone = alive()
        if gone is not None:
            raise LaunchError(f'the server for {url} {gone} before answering; its last output:\n{last_output()}')
        if health(url, timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise LaunchError(f'the server for {url} did not answer its health check within {timeout:g} s '
                              f'(the start_timeout setting); its last output:\n{last_output()}')
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
