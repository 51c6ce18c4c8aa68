"""One replica of a service: a Ray actor that serves lazyplug's own app with uvicorn.

The actor's constructor gets the cloudpickled :class:`~lazyplug.serve.process.ServeSpec` (the
user's own code going to the user's own cluster, exactly what the local launcher writes to its
child's pipe), binds a port on its node and serves the module from a thread, with the same ASGI
app, wire format, security key and error replies as every other launcher.

Ray restarts a replica whose process died by running the constructor again with the same
arguments. So that the restarted replica answers at the URL that was published, it binds the
port it had: the first start records it in a small file on its node, named after the replica's
key, and :meth:`ServiceReplica.shutdown` removes that file. This module does not import Ray: the
launcher wraps the class with ``ray.remote`` when it deploys.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time

__all__ = ['ServiceReplica', 'port_file']


def port_file(key: str) -> str:
    """Where the replica called ``key`` records its port, on the node it runs on."""
    return os.path.join(tempfile.gettempdir(), f'lazyplug-ray-{os.getuid()}', f'{key}.port')


def _recorded_port(key: str) -> int | None:
    try:
        with open(port_file(key)) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def _record_port(key: str, port: int) -> None:
    path = port_file(key)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        f.write(str(port))
    os.replace(path + '.tmp', path)


class ServiceReplica:
    """Serve the cloudpickled ServeSpec ``payload`` on ``port`` (None: the port this replica had
    before, else a free one; the spec's own port is not used)."""

    def __init__(self, payload: bytes, pythonpath: list[str], port: int | None, key: str) -> None:
        # the module must import what the deploying process could, before it is unpickled
        sys.path[:0] = [entry for entry in pythonpath if entry not in sys.path]
        import cloudpickle
        from lazyplug.serve.process import bind, check_host, serve
        spec = cloudpickle.loads(payload)
        check_host(spec.host, spec.security_key)
        spec.adopt_registry()  # what it serves finds the services it calls where they are published
        self.key = key
        self.sock = bind(spec.host, port or _recorded_port(key))
        self.port = self.sock.getsockname()[1]
        if not port:
            _record_port(key, self.port)
        self.host = spec.host
        self.server = serve(spec, self.sock)
        self.thread = threading.Thread(target=self.server.run, kwargs={'sockets': [self.sock]}, daemon=True,
                                       name=f'lazyplug-serve-{self.port}')
        self.thread.start()

    def ready(self, timeout: float) -> tuple[str, int, int]:
        """Wait until the server listens; return the host to reach it at, its port, and this process's id."""
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f'the server on port {self.port} stopped before it started listening')
            if time.monotonic() > deadline:
                raise TimeoutError(f'the server on port {self.port} did not start listening within {timeout:g} s')
            time.sleep(0.005)
        return self._reachable_host(), self.port, os.getpid()

    def _reachable_host(self) -> str:
        """The host in this replica's URL. For a server bound to every interface: the advertise host
        of its node (``LAZYPLUG_ADVERTISE_HOST`` where the node's ``ray start`` ran), else the node's
        address in the Ray cluster, at which the other nodes reach it."""
        from lazyplug.config import config
        from lazyplug.launchers.base import url_host
        if self.host in ('0.0.0.0', '::', '') and not str(config['advertise_host']).strip():
            import ray  # a replica runs in a Ray worker: Ray is imported there already
            return url_host(str(ray.util.get_node_ip_address()))  # type: ignore[no-untyped-call]
        return url_host(self.host)

    def serving(self) -> bool:
        """Block until the server has stopped; True then."""
        self.thread.join()
        return True

    def shutdown(self) -> None:
        """Stop serving, close the port and forget it: what follows is the end of this replica."""
        from lazyplug.serve.process import close_log
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        close_log(self.server)
        try:
            os.remove(port_file(self.key))
        except OSError:
            pass

    def __repr__(self) -> str:
        return f'ServiceReplica(port={getattr(self, "port", None)})'
