"""Helpers of lazyplug-redis's tests (a module of its own, not conftest: other plugins' test folders
have a conftest too, and ``from conftest import`` would find whichever pytest imported first)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from lazyplug import config

from lazyplug_redis.server import find_redis_server


def require_redis_server():
    """The redis-server executable; without one the test fails under CI (CI=true) and is skipped elsewhere."""
    found = find_redis_server()
    if found is None:
        message = ('redis-server is not installed: the lazyplug-redis tests start a real one '
                   '(Debian: apt-get install redis-server; .ci/run installs it)')
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def child_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('LAZYPLUG_')}
    env.update(LAZYPLUG_PLUGINS='redis', LAZYPLUG_STRICT_PLUGINS='1', LAZYPLUG_HOME=str(config['home']))
    env.update(extra)
    return env


def start_python(code, *args, **env):
    """A Python child running ``code`` with ``args``; its output is read with ``finish``."""
    return subprocess.Popen([sys.executable, '-c', textwrap.dedent(code), *map(str, args)], env=child_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs, timeout=120):
    """Wait for every process (killing them all if one fails or hangs); return their outputs."""
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, err
            outputs.append(out)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    return outputs


def wait_until(condition, timeout=60.0, what='the condition'):
    """Poll ``condition`` until it holds; fail after ``timeout`` s (a deadline, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'{what} did not happen within {timeout} s'
        time.sleep(0.05)



class StallingProxy:
    """A TCP proxy to ``port`` on 127.0.0.1 that can stop forwarding: ``stall()`` leaves every
    connection open and moves nothing either way (new connections are accepted by the system and
    wait), as a network that stops delivering would; ``resume()`` forwards again; ``close()`` ends it."""

    def __init__(self, port):
        import selectors
        import socket
        import threading
        self.target = port
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.url = f'redis://127.0.0.1:{self.port}/0'
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._run, name='stalling proxy', daemon=True)
        self.thread.start()

    def stall(self):
        self.flowing.clear()

    def resume(self):
        self.flowing.set()

    def close(self):
        self.closed = True
        self.flowing.set()
        self.thread.join(10)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()

    def _run(self):
        import selectors
        import socket
        while not self.closed:
            if not self.flowing.wait(0.05):
                continue
            for key, _ in self.selector.select(0.05):
                if not self.flowing.is_set():
                    break
                if key.fileobj is self.listener:
                    client, _ = self.listener.accept()
                    try:
                        upstream = socket.create_connection(('127.0.0.1', self.target), timeout=5)
                    except OSError:
                        client.close()
                        continue
                    self.selector.register(client, selectors.EVENT_READ, upstream)
                    self.selector.register(upstream, selectors.EVENT_READ, client)
                    continue
                if key.fileobj.fileno() == -1:  # closed with its peer earlier in this round
                    continue
                try:
                    data = key.fileobj.recv(65536)
                    if data:
                        key.data.sendall(data)
                        continue
                except OSError:
                    pass
                for end in (key.fileobj, key.data):  # one side closed: close both
                    self.selector.unregister(end)
                    end.close()
