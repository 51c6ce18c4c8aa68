"""Fixtures: a real redis-server for the session (and private ones for tests that stop or freeze
theirs), a key prefix per test, a private LAZYPLUG_HOME, and the registries and stores a test
makes closed after it."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
import redis
from lazyplug import config
from lazyplug.services import get_registry
from lazyplug.testing import forgetting_instances, isolated_plugins

from lazyplug_redis.server import RedisServer
from redis_helpers import require_redis_server


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
def _isolated(lazyplug_home, monkeypatch):
    """A private home, and a plugin manager of the installed redis plugin alone (other lazyplug plugins
    of the environment are not under test here); set for this test only, so that other plugins' test
    suites run in the same pytest keep their plugins. What get_registry() and get_store() make in the
    test is closed and forgotten."""
    monkeypatch.setenv('LAZYPLUG_PLUGINS', 'redis')
    monkeypatch.setenv('LAZYPLUG_STRICT_PLUGINS', '1')
    config.reload()
    try:
        with forgetting_instances(), isolated_plugins(fresh=True):
            yield
    finally:
        monkeypatch.undo()  # the settings of the tests that follow come from their own environment
        config.reload()
