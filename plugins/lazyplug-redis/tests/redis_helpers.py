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

