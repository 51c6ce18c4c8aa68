"""lazyplug's pytest plugin (entry point ``pytest11``): fixtures that keep tests of lazyplug
applications and plugins from leaking into each other.

* ``lazyplug_registry``: module groups and modules registered during the test are gone after it,
  and entry-point groups load afresh inside it.
* ``lazyplug_plugins``: a new plugin manager for the test, built from the settings then in force
  (``lazyplug.config.temp('plugins', ...)``, environment variables); run-time registrations
  (``lazyplug.plugins.register``) end with the test.
* ``lazyplug_home``: a private ``LAZYPLUG_HOME`` (service registry, caches) for the test and the
  processes it starts.
* ``lazyplug_isolated``: all three.
* ``lazyplug_no_processes_left``: fails a test that leaves a child process running (a server it
  did not stop); it needs psutil (``pip install 'lazyplug[test]'``).
* ``lazyplug_network``: a private network of machines for the test (:mod:`lazyplug.testbed`);
  skipped where it cannot run (not root, no ``ip``), failed instead under CI (``CI=true``).
  ``require_network()`` does the same for fixtures of another scope that open a ``Network``.
"""

from __future__ import annotations

import importlib
import os
import time

import pytest

from .config import config
from .testing import isolated_plugins, isolated_registry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import Any

    from .testbed import Network

__all__ = ['lazyplug_home', 'lazyplug_isolated', 'lazyplug_network', 'lazyplug_no_processes_left',
           'lazyplug_plugins', 'lazyplug_registry', 'require_network']


@pytest.fixture
def lazyplug_registry() -> Iterator[isolated_registry]:
    """Module groups and modules registered in the test are gone after it."""
    with isolated_registry() as registry:
        yield registry


@pytest.fixture
def lazyplug_plugins() -> Iterator[isolated_plugins]:
    """A fresh plugin manager for the test; the previous one comes back after it."""
    with isolated_plugins(fresh=True) as manager:
        yield manager


@pytest.fixture
def lazyplug_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private LAZYPLUG_HOME for the test and the processes it starts."""
    home = tmp_path / 'lazyplug-home'
    monkeypatch.setenv('LAZYPLUG_HOME', str(home))
    config.reload('home')
    try:
        yield home
    finally:
        monkeypatch.undo()
        config.reload('home')


@pytest.fixture
def lazyplug_isolated(lazyplug_home: Path, lazyplug_registry: isolated_registry,
                      lazyplug_plugins: isolated_plugins) -> None:
    """A private home, registry and plugin manager for the test."""


@pytest.fixture
def lazyplug_no_processes_left() -> Iterator[None]:
    """Fail the test if a child process it started is still running 10 s after it.

    Zombies do not count, nor the local launcher's fork server (it lives as long as the test process).
    """
    try:
        psutil: Any = importlib.import_module('psutil')  # untyped; only the test extra installs it
    except ImportError as exc:
        raise RuntimeError("lazyplug_no_processes_left needs psutil: pip install 'lazyplug[test]'") from exc
    from .launchers.local import fork_server_pid

    def running(process: Any) -> bool:
        try:
            return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:  # it ended between being listed and being asked
            return False

    def described(process: Any) -> Any:
        try:
            return process.cmdline()
        except psutil.Error:
            return process.pid

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    deadline = time.monotonic() + 10
    while True:
        keep = before | {fork_server_pid()}  # the fork server may have started during the test
        left = [p for p in psutil.Process().children(recursive=True) if p.pid not in keep and running(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f'processes left behind: {[described(p) for p in left]}'


def require_network() -> None:
    """Skip the test when a :class:`lazyplug.testbed.Network` cannot run here (saying why); under
    CI (``CI=true``), where it must run, fail it instead."""
    from .testbed import unavailable_reason
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(f'{reason}; under CI the test network must run', pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def lazyplug_network() -> Iterator[Network]:
    """A private network for the test: ``lazyplug_network.machine('a')`` adds a machine; every
    process, namespace and link of it is gone after the test."""
    require_network()
    from .testbed import Network
    with Network() as network:
        yield network
