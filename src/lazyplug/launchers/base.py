"""What every launcher shares: :class:`BasicDeployment`, the URL host of a server, waiting for health.

``Deployment`` here is :class:`lazyplug.interfaces.Deployment`, the interface every launcher's
result implements.
"""

from __future__ import annotations

import atexit
import threading
import time

from ..errors import LaunchError, ServiceUnavailableError
from ..interfaces import Deployment
from ..serve.client import health

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ['BasicDeployment', 'Deployment', 'stop_all', 'url_host', 'wait_healthy']

_ANY = frozenset({'0.0.0.0', '::', ''})  # bind addresses meaning every interface


def url_host(bind_host: str) -> str:
    """The host to put in the URLs of a server bound to ``bind_host``, for its callers.

    A server bound to every interface (``0.0.0.0``, ``::``) is published at the ``advertise_host``
    setting (``LAZYPLUG_ADVERTISE_HOST``) if given, else at this machine's address: a
    non-loopback address of its host name, else the one its traffic leaves by, so that other
    machines sharing the registry can reach it (loopback when the machine has no other).
    ``localhost`` is ``127.0.0.1``; an IPv6 address is bracketed.
    """
    from ..config import config
    host = bind_host
    if bind_host in _ANY:
        host = str(config['advertise_host']).strip() or _machine_address()
    elif bind_host == 'localhost':
        host = '127.0.0.1'
    return f'[{host}]' if ':' in host and not host.startswith('[') else host


def _machine_address() -> str:
    import ipaddress
    import socket

    def routable(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split('%')[0])
        except ValueError:
            return False
        return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local)

    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        infos = []
    for info in infos:
        if routable(str(info[4][0])):
            return str(info[4][0])
    # no address in the host's name (Debian maps it to 127.0.1.1): the source address of the route
    # out; connecting a UDP socket sends nothing (192.0.2.1 is TEST-NET-1, routed like any other)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(('192.0.2.1', 9))
            address = str(probe.getsockname()[0])
        if routable(address):
            return address
    except OSError:
        pass
    return '127.0.0.1'


_live: set[BasicDeployment] = set()
_live_lock = threading.Lock()


class BasicDeployment:
    """A :class:`~lazyplug.interfaces.Deployment` made of a ``stop`` and a ``wait`` function.

    ``urls`` lists the replicas that can be reached now: a launcher whose replicas can move (Ray
    restarts one on another machine) changes it with :meth:`urls_changed`, which tells those who
    asked (:meth:`on_urls_changed`, the optional :class:`~lazyplug.interfaces.ReportsMoves`). Every
    one not stopped by its owner is stopped when this interpreter exits.
    """

    def __init__(self, urls: list[str], pids: list[int], stop: Callable[[], None],
                 wait: Callable[[], None]) -> None:
        self.urls = urls
        self.pids = pids
        self._stop = stop
        self._wait = wait
        self._listeners: list[Callable[[], None]] = []
        self.stopped = False
        with _live_lock:
            _live.add(self)

    def on_urls_changed(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` each time ``urls`` changes (from another thread): a replica that stopped
        answering is left out, one that answers again (elsewhere, perhaps) is back."""
        self._listeners.append(callback)

    def urls_changed(self, urls: list[str]) -> None:
        """For launchers: the replicas are now at ``urls``; the listeners are told."""
        self.urls = list(urls)
        for callback in list(self._listeners):
            callback()

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
        return f'<{type(self).__name__} {", ".join(self.urls)} ({state})>'


def stop_all() -> None:
    """Stop every service this process started and has not stopped (as at exit): LazyLLM's
    ``launcher.cleanup()``. A ServerModule whose service was stopped this way deploys it anew on
    its next ``start()``."""
    with _live_lock:
        running = list(_live)
    for deployment in running:
        deployment.stop()


atexit.register(stop_all)


def wait_healthy(url: str, deadline: float, alive: Callable[[], str | None], timeout: float,
                 last_output: Callable[[], str]) -> None:
    """Poll ``url``'s health until it answers; ``alive()`` returns why the server is gone, or None."""
    pause = 0.005
    while True:
        gone = alive()
        if gone is not None:
            raise LaunchError(f'the server for {url} {gone} before answering; its last output:\n{last_output()}')
        try:
            if health(url, timeout=0.5):
                return
        except ServiceUnavailableError as exc:  # it answers, but cannot be trusted: waiting will not mend that
            raise LaunchError(f'the server for {url} started, but {exc}') from exc
        if time.monotonic() > deadline:
            raise LaunchError(f'the server for {url} did not answer its health check within {timeout:g} s '
                              f'(the start_timeout setting); its last output:\n{last_output()}')
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
