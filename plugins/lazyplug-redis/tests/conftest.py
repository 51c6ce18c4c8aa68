"""Fixtures: a real redis-server for the session (and private ones for tests that stop or freeze
theirs), a key prefix per test, a private LAZYPLUG_HOME, and the registries and stores a test
makes closed after it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import redis

# The installed plugin alone: other lazyplug plugins of the environment are not under test here.
os.environ['LAZYPLUG_PLUGINS'] = 'redis'
os.environ['LAZYPLUG_STRICT_PLUGINS'] = '1'

from lazyplug import _hookcalls, config
from lazyplug.services import get_registry

from lazyplug_redis.server import RedisServer, find_redis_server


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


@pytest.fixture(scope='session')
def redis_server(tmp_path_factory):
    """The session's redis-server (TCP on a free port, and a unix socket)."""
    server = RedisServer(require_redis_server(), str(tmp_path_factory.mktemp('redis'))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(tmp_path_factory):
    """A redis-server of this test alone, which it may stop, restart or freeze."""
    server = RedisServer(require_redis_server(), str(tmp_path_factory.mktemp('own-redis'))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prefix():
    """A key prefix no other test uses."""
    return f'test-{uuid.uuid4().hex[:12]}:'


@pytest.fixture
def registry_url(redis_server, prefix):
    return f'{redis_server.url}?prefix={prefix}'


@pytest.fixture
def registry(registry_url):
    """The Redis registry of this test's prefix, made through the plugin's hook."""
    return get_registry(registry_url)


@pytest.fixture
def raw(redis_server):
    """A plain redis-py client of the session's server, to look beneath the plugin."""
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def sleeper():
    """A child process that sleeps; it is killed and waited for when the test ends."""
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture(autouse=True)
def _isolated(lazyplug_home):
    """A private home; what get_registry() and get_store() make in the test is closed and forgotten."""
    before = dict(_hookcalls._made)
    try:
        yield
    finally:
        for key, made in list(_hookcalls._made.items()):
            if key not in before:
                del _hookcalls._made[key]
                if hasattr(made, 'close'):
                    made.close()
        config.reload()


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

