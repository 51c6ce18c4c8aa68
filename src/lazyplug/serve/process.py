"""What a server process is given, and how it starts: ``python -m lazyplug.serve``.

The parent writes a :class:`ServeSpec` to the child's standard input (8 bytes of length, then the
cloudpickled spec: the user's own code going to the user's own child, never over the network) and
keeps that pipe open. The child binds its socket, prints ``LAZYPLUG_LISTENING <port>``, and serves
until it is told to stop (SIGTERM: it then finishes the calls it runs and exits as Python does,
``atexit`` handlers included, with status 143) or its parent goes away (the pipe reaches end of
file: it ends at once).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import sys
import threading
from functools import partial

from ..config import config
from ..errors import InvalidArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['READY_PREFIX', 'ServeSpec', 'bind', 'check_host', 'close_log', 'main', 'serve']

READY_PREFIX = 'LAZYPLUG_LISTENING '


class ServeSpec:
    """Everything a server needs: what to serve and how.

    The limits of serving are the settings in force where the spec is made (the deploying
    process): ``max_request_bytes``, ``max_nesting_depth``, ``read_timeout``,
    ``max_concurrent_calls``. So is ``registry``, the service registry the deploying process
    publishes in (:meth:`adopt_registry`). With ``ssl_certfile`` (and ``ssl_keyfile``, unless the
    certificate file holds the key) the server speaks only TLS.
    """

    def __init__(self, target: Any, *, pre: Any = None, post: Any = None, host: str = '127.0.0.1',
                 port: int | None = None, security_key: str | None = None, name: str = '',
                 pythonpath: list[str] | None = None, methods: tuple[str, ...] = (),
                 ssl_certfile: str | None = None, ssl_keyfile: str | None = None, log_file: str | None = None,
                 pages: dict[str, Any] | None = None) -> None:
        self.target = target
        self.pre = pre
        self.post = post
        self.host = host
        self.port = port
        self.security_key = security_key
        self.name = name
        self.pythonpath = list(pythonpath or [])  # more places a server process imports from
        self.log_file = log_file  # where the server writes the errors its module raises (see .log)
        self.methods = tuple(methods)
        self.ssl_certfile = ssl_certfile
        self.ssl_keyfile = ssl_keyfile
        self.pages = dict(pages or {})  # documents served at GET paths beside the module (lazyplug-web's page)
        self.max_body = int(config['max_request_bytes'])
        self.max_depth = int(config['max_nesting_depth'])
        self.read_timeout = float(config['read_timeout'])
        self.max_calls = int(config['max_concurrent_calls'])
        self.registry = str(config['registry'])

    def adopt_registry(self) -> None:
        """Make the deploying process's registry (when it named one) this server process's: the
        ServerModules inside the served module find their services there, on any machine."""
        if self.registry:
            config['registry'] = self.registry

    @property
    def scheme(self) -> str:
        """The scheme of the server's URLs: https with a certificate, else http."""
        return 'https' if self.ssl_certfile else 'http'

    def app(self) -> Any:
        from .app import ServeApp
        return ServeApp(self.target, pre=self.pre, post=self.post, security_key=self.security_key,
                        max_body=self.max_body, name=self.name, methods=self.methods, max_depth=self.max_depth,
                        max_calls=self.max_calls, pages=self.pages)


def check_host(host: str, security_key: str | None) -> None:
    """A server bound to anything but loopback needs a security key."""
    if security_key:
        return
    try:
        loopback = host == 'localhost' or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InvalidArgumentError(f'a service bound to {host!r} (not loopback) needs a security key: '
                                   'pass security_key=True to make one')


def bind(host: str, port: int | None) -> socket.socket:
    """A listening socket on ``host`` and ``port`` (a free port when None)."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # a reply goes out as two writes (head, then body): without TCP_NODELAY, Nagle's algorithm
    # holds the body until the client's delayed ACK, 40 ms later (accepted sockets inherit it)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port or 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def serve(spec: ServeSpec, sock: socket.socket) -> Any:
    """A uvicorn server for ``spec`` on ``sock``, not yet running (``server.run(sockets=[sock])``);
    the errors its module raises go to ``spec.log_file`` until ``close_log(server)``."""
    import logging

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from . import log
    from .app import KEEP_ALIVE
    from .protocol import DeadlineHttpToolsProtocol

    # A server forked by the fork server inherits uvicorn's logging set up there: configuring it
    # again, like loading the websocket and proxy-header layers this app never uses, is a third
    # of what a forked server's start costs
    log_config = None if logging.getLogger('uvicorn').handlers else LOGGING_CONFIG
    app = spec.app()
    protocol: Any = partial(DeadlineHttpToolsProtocol, read_timeout=spec.read_timeout)
    server_config = uvicorn.Config(app, log_level='warning', log_config=log_config, access_log=False,
                                   lifespan='off', ws='none', proxy_headers=False, timeout_keep_alive=KEEP_ALIVE,
                                   http=protocol, ssl_certfile=spec.ssl_certfile, ssl_keyfile=spec.ssl_keyfile)
    server_config.load()  # here, so that a certificate or key that cannot be loaded fails the caller
    server = uvicorn.Server(server_config)
    setattr(server, 'lazyplug_log', log.attach(spec.log_file, app))
    return server


def close_log(server: Any) -> None:
    """Stop writing the errors of ``server`` (made by ``serve``) to its log file: it has stopped."""
    from . import log
    log.detach(getattr(server, 'lazyplug_log', None))


def _read_spec(stream: Any) -> ServeSpec:
    import cloudpickle
    size = int.from_bytes(stream.read(8), 'big')
    payload = stream.read(size)
    if len(payload) != size:
        raise SystemExit('lazyplug.serve: the parent closed the pipe before sending what to serve')
    spec = cloudpickle.loads(payload)
    if not isinstance(spec, ServeSpec):
        raise SystemExit(f'lazyplug.serve: expected a ServeSpec, got {type(spec).__name__}')
    return spec


def _exit_with_parent(stream: Any) -> None:
    stream.read()  # returns at end of file: the parent closed the pipe, or died
    os._exit(0)


def main() -> None:
    """Entry point of ``python -m lazyplug.serve``; see the module's documentation."""
    stdin = sys.stdin.buffer
    spec = _read_spec(stdin)
    check_host(spec.host, spec.security_key)
    spec.adopt_registry()
    sock = bind(spec.host, spec.port)
    threading.Thread(target=_exit_with_parent, args=(stdin,), name='lazyplug-parent-watch', daemon=True).start()
    server = serve(spec, sock)
    # uvicorn stops gracefully on SIGTERM, then raises it again to the handler it found: this one
    # makes it an exit as Python does, so that what the server registered to run at exit runs
    # (plugins flushing what they buffered), where the default handler would end the process
    signal.signal(signal.SIGTERM, _exit_on_signal)
    print(f'{READY_PREFIX}{sock.getsockname()[1]}', flush=True)
    server.run(sockets=[sock])


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
